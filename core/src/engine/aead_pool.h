// AeadPool: reusable cipher contexts for one suite, so a message borrows a
// context instead of creating one (creating costs allocations and, in
// OpenSSL, a fetch). Each thread keeps the context it used last for each of
// a few pools, so the usual borrow takes no lock; the shared free list
// serves the rest.
//
// A pooled context still holds the key schedule of the last message it
// sealed or opened, until its next use.
//
// Thread safety: Acquire and the Lease destructor are thread-safe; a Lease is
// used by one thread and must not outlive its pool.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "ses/cipher.h"

namespace ses::internal {

class AeadPool {
 public:
  AeadPool(std::shared_ptr<CipherProvider> cipher, SuiteInfo suite)
      : cipher_(std::move(cipher)), suite_(std::move(suite)), id_(NextId()) {}

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
    for (auto& s : Local()) {
      if (s.pool == id_ && s.ctx) return Lease(this, std::move(s.ctx));
    }
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
  // Idle contexts kept in the shared list; more only exist under bursts.
  static constexpr size_t kMaxIdle = 64;
  struct LocalSlot {
    uint64_t pool = 0;
    std::unique_ptr<AeadContext> ctx;
  };
  static constexpr size_t kLocalSlots = 4;

  static uint64_t NextId() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }
  static std::array<LocalSlot, kLocalSlots>& Local() {
    thread_local std::array<LocalSlot, kLocalSlots> slots;
    return slots;
  }

  void Release(std::unique_ptr<AeadContext> ctx) {
    auto& local = Local();
    for (auto& s : local) {
      if (s.pool == id_ && !s.ctx) {
        s.ctx = std::move(ctx);
        return;
      }
    }
    for (auto& s : local) {
      if (!s.ctx) {  // a free slot, or one whose pool's context is out on loan
        s.pool = id_;
        s.ctx = std::move(ctx);
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.size() < kMaxIdle) {
        free_.push_back(std::move(ctx));
        return;
      }
    }
    // Every slot is taken (perhaps by pools since destroyed): replace one.
    LocalSlot& victim = local[id_ % kLocalSlots];
    victim.pool = id_;
    victim.ctx = std::move(ctx);
  }

  std::shared_ptr<CipherProvider> cipher_;
  SuiteInfo suite_;
  const uint64_t id_;
  std::mutex mu_;
  std::vector<std::unique_ptr<AeadContext>> free_;
};

}  // namespace ses::internal
