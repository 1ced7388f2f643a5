// LocalEnvelope: the engine's one-shot message path (message.h) over a data
// key the caller brought, with no key provider and no cache.
#include "ses/local_envelope.h"

#include <array>
#include <string>

#include <openssl/crypto.h>

#include "engine/aead_pool.h"
#include "engine/data_key.h"
#include "engine/engine_impl.h"
#include "engine/message.h"
#include "envelope/format.h"
#include "util/random.h"

namespace ses {
namespace {

using internal::AeadPool;
using internal::ByteView;
using internal::DataKey;

Status NotAHeader(std::string_view why) {
  return InvalidArgumentError("encrypted key is not a valid SES header (" + std::string(why) + ")");
}

class LocalEnvelopeImpl final : public LocalEnvelope {
 public:
  LocalEnvelopeImpl(std::unique_ptr<DataKey> key, std::unique_ptr<AeadPool> pool)
      : key_(std::move(key)), pool_(std::move(pool)) {}

  StatusOr<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext) override {
    std::array<uint8_t, internal::kMessageIdSize> id{};
    SES_RETURN_IF_ERROR(internal::RandomBytesBatched(id.data(), id.size()));
    SES_ASSIGN_OR_RETURN(auto aead, pool_->Acquire());
    SES_RETURN_IF_ERROR(internal::KeyMessage(*key_, id, *aead));
    std::vector<uint8_t> out;
    SES_RETURN_IF_ERROR(internal::SealMessage(*key_, id, *aead, plaintext, out));
    return out;
  }

  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ct) override {
    SES_ASSIGN_OR_RETURN(size_t header_size, internal::DecodeHeaderSize(ct));
    if (ct.size() < header_size) return AuthenticationFailedError();
    ByteView header = ct.first(header_size);
    uint32_t frame_size = key_->info.frame_size;
    // The usual case: the template's bytes with another id, authenticated
    // when this object was made. Anything else must authenticate itself.
    if (!internal::SameHeaderIdentity(key_->header, header)) {
      SES_ASSIGN_OR_RETURN(HeaderInfo h, internal::DecodeHeader(header));
      // The commitment is a function of the data key alone: another one
      // means another key, whatever else the header says.
      if (CRYPTO_memcmp(h.commitment.data(), key_->commitment().data(), internal::kCommitmentSize) != 0) {
        return FailedPreconditionError("message is under a different data key");
      }
      SES_RETURN_IF_ERROR(internal::VerifyHeader(*key_, h, header));
      // Authentic under this key, so written by a holder of it: a rewrapped
      // message (other wrapped keys and mode) opens like the original.
      if (h.suite_id != key_->suite().id) {
        return FailedPreconditionError("message uses suite " + std::string(SuiteName(h.suite_id)) +
                                       ", not this data key's " + key_->suite().name);
      }
      if (h.context != key_->info.context) {
        return InvalidArgumentError("encryption context does not match the one sealed in the message");
      }
      frame_size = h.frame_size;
    }
    SES_ASSIGN_OR_RETURN(auto aead, pool_->Acquire());
    SES_RETURN_IF_ERROR(
        internal::KeyMessage(*key_, header.subspan(internal::kMessageIdOffset, internal::kMessageIdSize), *aead));
    std::vector<uint8_t> out;
    SES_RETURN_IF_ERROR(
        internal::OpenMessageBody(ct, header_size, frame_size, key_->suite().tag_len, *aead, out));
    return out;
  }

  const HeaderInfo& info() const override { return key_->info; }

 private:
  const std::unique_ptr<const DataKey> key_;
  const std::unique_ptr<AeadPool> pool_;
};

}  // namespace

StatusOr<std::unique_ptr<LocalEnvelope>> LocalEnvelope::Create(std::shared_ptr<CipherProvider> cipher,
                                                               SecretBytes data_key,
                                                               std::span<const uint8_t> encrypted_key) {
  if (!cipher) return InvalidArgumentError("local envelope needs a cipher provider");
  if (data_key.size() != internal::kDataKeySize) {
    return InvalidArgumentError("data key must be " + std::to_string(internal::kDataKeySize) + " bytes, not " +
                                std::to_string(data_key.size()));
  }
  auto size = internal::DecodeHeaderSize(encrypted_key);
  if (!size.ok()) return NotAHeader("bad magic, version or length");
  if (encrypted_key.size() < *size) {
    return NotAHeader("truncated: " + std::to_string(encrypted_key.size()) + " of " + std::to_string(*size) +
                      " bytes");
  }
  ByteView header = encrypted_key.first(*size);
  auto h = internal::DecodeHeader(header);
  if (!h.ok()) return NotAHeader("malformed fields");

  if (SuiteName(h->suite_id) == "unknown") return NotAHeader("unknown suite id " + std::to_string(h->suite_id));
  const SuiteInfo* suite = nullptr;
  const std::vector<SuiteInfo> offered = cipher->Suites();
  for (const auto& s : offered) {
    if (s.id == h->suite_id) suite = &s;
  }
  if (suite == nullptr) return internal::MissingSuiteError(h->suite_id);
  SES_RETURN_IF_ERROR(internal::CheckSuiteLengths(*suite));

  auto key = std::make_unique<DataKey>(std::move(data_key), h->mode, h->keys, *suite);
  if (!internal::AdoptHeader(*key, std::move(h).value(), header).ok()) {
    return InvalidArgumentError("data key does not match its encrypted key");
  }
  auto pool = std::make_unique<AeadPool>(std::move(cipher), *suite);
  return std::unique_ptr<LocalEnvelope>(std::make_unique<LocalEnvelopeImpl>(std::move(key), std::move(pool)));
}

}  // namespace ses
