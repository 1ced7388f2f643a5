// EngineImpl: the Engine behind ses/engine.h. Shared by the one-shot paths
// (engine.cc) and the stream classes (streams.cc).
//
// Thread safety: as Engine.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/aead_pool.h"
#include "engine/data_key_cache.h"
#include "engine/key_manager.h"
#include "engine/message.h"
#include "ses/engine.h"

namespace ses::internal {

// Everything needed to seal one message: the data key, a keyed cipher
// context and the header (tag included), ready to be written out.
struct SealingMessage {
  std::shared_ptr<const DataKey> key;
  std::optional<AeadPool::Lease> aead;
  const KeyringConfig* keyring = nullptr;
  size_t tag_len = 0;
};

// A message whose header has been authenticated: the body can be opened.
struct OpenedMessage {
  HeaderInfo header;
  std::shared_ptr<const DataKey> key;
  std::optional<AeadPool::Lease> aead;
  size_t tag_len = 0;
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(std::unique_ptr<KeyManager> keys, std::map<uint16_t, std::unique_ptr<AeadPool>> pools,
             CacheLimits limits);

  StatusOr<std::vector<uint8_t>> Encrypt(std::string_view keyring, const EncryptionContext& context,
                                         std::span<const uint8_t> plaintext) override;
  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext,
                                         const EncryptionContext& context) override;
  StatusOr<std::unique_ptr<EncryptStream>> NewEncryptStream(std::string_view keyring,
                                                            const EncryptionContext& context, Sink sink) override;
  StatusOr<std::unique_ptr<DecryptStream>> NewDecryptStream(const EncryptionContext& context, Sink sink) override;
  StatusOr<std::vector<uint8_t>> ReEncryptHeader(std::span<const uint8_t> header,
                                                 std::string_view keyring) override;
  StatusOr<std::string> CreateKey(std::string_view key_uri) override;
  StatusOr<std::string> RotateKey(std::string_view key_uri) override;
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override;
  const std::vector<KeyringConfig>& keyrings() const override { return keys_->keyrings(); }
  CacheStats cache_stats() const override { return cache_.stats(); }

  // Starts a message: picks the data key (cached or new), keys a cipher
  // context and appends the header to `out`. `bytes` is the plaintext size
  // if known (one-shot), 0 for streams.
  Status BeginMessage(std::string_view keyring, const EncryptionContext& context, uint64_t bytes,
                      SealingMessage& msg, std::vector<uint8_t>& out);
  // Decodes and authenticates a header (exactly its bytes) and checks the
  // caller's context against it.
  Status OpenHeader(ByteView header, const EncryptionContext* expected, OpenedMessage& msg);

 private:
  StatusOr<AeadPool*> Pool(uint16_t suite_id);

  std::unique_ptr<KeyManager> keys_;
  std::map<uint16_t, std::unique_ptr<AeadPool>> pools_;
  DataKeyCache cache_;
};

StatusOr<std::unique_ptr<EncryptStream>> MakeEncryptStream(EngineImpl& engine, std::string_view keyring,
                                                           const EncryptionContext& context, Sink sink);
StatusOr<std::unique_ptr<DecryptStream>> MakeDecryptStream(EngineImpl& engine, const EncryptionContext& context,
                                                           Sink sink);

}  // namespace ses::internal
