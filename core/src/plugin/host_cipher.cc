// CipherProvider over a plugin's ses_cipher_v1 table. Seal/Open forward one
// indirect call each; nothing here allocates per message.
#include <cstdio>

#include "plugin/host_wrappers.h"
#include "ses/plugin/abi_util.h"

namespace ses::internal {
namespace {

class HostAead final : public AeadContext {
 public:
  HostAead(LibraryRef lib, const ses_cipher_v1* t, void* aead, size_t tag_len)
      : lib_(std::move(lib)), t_(t), aead_(aead), tag_len_(tag_len) {}
  ~HostAead() override { t_->aead_free(aead_); }

  size_t TagLength() const override { return tag_len_; }

  Status SetKey(std::span<const uint8_t> key) override {
    ses_error err = abi::NewError();
    int32_t rc = t_->aead_set_key(aead_, abi::Bytes(key), &err);
    return rc == SES_OK ? OkStatus() : abi::ToStatus(rc, err);
  }
  Status Seal(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
              std::span<uint8_t> out) override {
    if (out.size() != in.size() + tag_len_) return InvalidArgumentError("seal: output size mismatch");
    ses_error err = abi::NewError();
    int32_t rc = t_->aead_seal(aead_, nonce.data(), abi::Bytes(aad), abi::Bytes(in), out.data(), &err);
    return rc == SES_OK ? OkStatus() : abi::ToStatus(rc, err);
  }
  Status Open(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
              std::span<uint8_t> out) override {
    if (in.size() < tag_len_ || out.size() < in.size()) return AuthenticationFailedError();
    ses_error err = abi::NewError();
    int32_t rc = t_->aead_open(aead_, nonce.data(), abi::Bytes(aad), abi::Bytes(in), out.data(), &err);
    if (rc == SES_OK) return OkStatus();
    // A forgery says only "authentication failed"; a broken plugin says why.
    if (rc == SES_INVALID_ARGUMENT) return AuthenticationFailedError();
    return abi::ToStatus(rc, err);
  }

 private:
  LibraryRef lib_;
  const ses_cipher_v1* t_;
  void* aead_;
  size_t tag_len_;
};

class HostCipher final : public CipherProvider {
 public:
  HostCipher(LibraryRef lib, const ses_cipher_v1* t, void* self) : lib_(std::move(lib)), t_(t), self_(self) {
    size_t n = t_->suite_count(self_);
    for (size_t i = 0; i < n; ++i) {
      const ses_suite_info* s = t_->suite_at(self_, i);
      if (s != nullptr && s->name != nullptr) suites_.push_back({s->id, s->name, s->key_len, s->tag_len});
    }
  }
  ~HostCipher() override { t_->destroy(self_); }

  std::vector<SuiteInfo> Suites() const override { return suites_; }

  StatusOr<std::unique_ptr<AeadContext>> NewAead(uint16_t suite_id) override {
    size_t tag_len = 0;
    for (const auto& s : suites_) {
      if (s.id == suite_id) tag_len = s.tag_len;
    }
    // Only listed suites: the tag length sizes the buffers Seal writes into.
    if (tag_len == 0) {
      char id[8];
      std::snprintf(id, sizeof(id), "0x%04x", suite_id);
      return NotFoundError(std::string("cipher plugin does not provide suite ") + id);
    }
    ses_error err = abi::NewError();
    void* aead = t_->aead_new(self_, suite_id, &err);
    if (aead == nullptr) return abi::ToStatus(err.code == SES_OK ? SES_INTERNAL : err.code, err);
    return std::unique_ptr<AeadContext>(std::make_unique<HostAead>(lib_, t_, aead, tag_len));
  }

 private:
  LibraryRef lib_;
  const ses_cipher_v1* t_;
  void* self_;
  std::vector<SuiteInfo> suites_;
};

}  // namespace

StatusOr<std::shared_ptr<CipherProvider>> NewHostCipher(LibraryRef lib, const PluginConfig& config) {
  auto* table = static_cast<const ses_cipher_v1*>(lib->info->table);
  SES_ASSIGN_OR_RETURN(void* self, CreateInstance(lib, table->create, config));
  return std::shared_ptr<CipherProvider>(std::make_shared<HostCipher>(lib, table, self));
}

}  // namespace ses::internal
