// AeadPool: reusable cipher contexts for one suite, so a message borrows a
// context instead of creating one (creating costs allocations and, in
// OpenSSL, a fetch).
//
// Thread safety: Acquire and the Lease destructor are thread-safe; a Lease is
// used by one thread.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "ses/cipher.h"

namespace ses::internal {

class AeadPool {
 public:
  AeadPool(std::shared_ptr<CipherProvider> cipher, SuiteInfo suite)
      : cipher_(std::move(cipher)), suite_(std::move(suite)) {}

  class Lease {
   public:
    Lease(AeadPool* pool, std::unique_ptr<AeadContext> ctx) : pool_(pool), ctx_(std::move(ctx)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease() {
      if (ctx_) pool_->Release(std::move(ctx_));
    }
    AeadContext& operator*() { return *ctx_; }
    AeadContext* operator->() { return ctx_.get(); }

   private:
    AeadPool* pool_;
    std::unique_ptr<AeadContext> ctx_;
  };

  StatusOr<Lease> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        auto ctx = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(ctx));
      }
    }
    SES_ASSIGN_OR_RETURN(auto ctx, cipher_->NewAead(suite_.id));
    return Lease(this, std::move(ctx));
  }

  const SuiteInfo& suite() const { return suite_; }

 private:
  // Keeps at most this many idle contexts; more only exist under bursts.
  static constexpr size_t kMaxIdle = 64;

  void Release(std::unique_ptr<AeadContext> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kMaxIdle) free_.push_back(std::move(ctx));
  }

  std::shared_ptr<CipherProvider> cipher_;
  SuiteInfo suite_;
  std::mutex mu_;
  std::vector<std::unique_ptr<AeadContext>> free_;
};

}  // namespace ses::internal
