// EngineImpl: the Engine behind ses/engine.h. Shared by the one-shot paths
// (engine.cc) and the stream classes (streams.cc).
//
// Thread safety: as Engine.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/aead_pool.h"
#include "engine/data_key_cache.h"
#include "engine/key_manager.h"
#include "engine/message.h"
#include "ses/engine.h"

namespace ses::internal {

// A message being sealed: its data key and a cipher context keyed with its
// message key. The header has been appended to the output.
struct SealingMessage {
  std::shared_ptr<const DataKey> key;
  std::array<uint8_t, kMessageIdSize> message_id{};
  std::optional<AeadPool::Lease> aead;
  uint32_t frame_size = 0;
  size_t tag_len = 0;
};

// A message whose header authenticated: the body can be opened.
struct OpenedMessage {
  std::shared_ptr<const DataKey> key;
  std::optional<AeadPool::Lease> aead;
  uint32_t frame_size = 0;
  size_t tag_len = 0;
};

// Whether a suite a cipher plugin declares has the key and tag lengths the
// format fixes for its id (docs/format.md §6); ids it does not define pass
// (they are never used).
Status CheckSuiteLengths(const SuiteInfo& suite);
// Why a suite id cannot be served: "authentication failed" for an id the
// format does not define (a damaged header), kFailedPrecondition naming a
// defined one the loaded cipher plugin lacks (a deployment problem).
Status MissingSuiteError(uint16_t suite_id);

class EngineImpl final : public Engine {
 public:
  EngineImpl(std::unique_ptr<KeyManager> keys, std::map<uint16_t, std::unique_ptr<AeadPool>> pools,
             CacheLimits limits);

  StatusOr<std::vector<uint8_t>> Encrypt(std::string_view keyring, const EncryptionContext& context,
                                         std::span<const uint8_t> plaintext) override;
  Status EncryptTo(std::string_view keyring, const EncryptionContext& context, std::span<const uint8_t> plaintext,
                   std::vector<uint8_t>& out) override;
  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext,
                                         const EncryptionContext& context) override;
  Status DecryptTo(std::span<const uint8_t> ciphertext, const EncryptionContext& context,
                   std::vector<uint8_t>& out) override;
  StatusOr<std::unique_ptr<EncryptStream>> NewEncryptStream(std::string_view keyring,
                                                            const EncryptionContext& context, Sink sink) override;
  StatusOr<std::unique_ptr<DecryptStream>> NewDecryptStream(const EncryptionContext& context, Sink sink) override;
  StatusOr<std::vector<uint8_t>> ReEncryptHeader(std::span<const uint8_t> header,
                                                 std::string_view keyring) override;
  StatusOr<DataKeyGrant> GenerateDataKey(std::string_view keyring, const EncryptionContext& context) override;
  StatusOr<SecretBytes> DecryptDataKey(std::span<const uint8_t> encrypted_key,
                                       const EncryptionContext& context) override;
  StatusOr<std::string> CreateKey(std::string_view key_uri) override;
  StatusOr<std::string> RotateKey(std::string_view key_uri) override;
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override;
  void ForgetEncryptKeys() override { cache_.ClearEncrypt(); }
  const std::vector<KeyringConfig>& keyrings() const override { return keys_->keyrings(); }
  CacheStats cache_stats() const override;

  // Starts a message of `bytes` plaintext bytes (0 for streams, which charge
  // as they go): picks its data key and message id and keys a cipher context.
  Status BeginMessage(std::string_view keyring, const EncryptionContext& context, uint64_t bytes,
                      SealingMessage& msg);
  // Writes the message's header (msg.key->header.size() bytes) to `out`.
  static void WriteHeader(const SealingMessage& msg, uint8_t* out);
  // Authenticates a header (exactly its bytes), checks the caller's context
  // against it (unless null) and keys a cipher context.
  Status OpenHeader(ByteView header, const EncryptionContext* expected, OpenedMessage& msg);
  // The first two steps of OpenHeader: the header's authenticated data key,
  // once the caller's context (unless null) matched the sealed one.
  StatusOr<std::shared_ptr<const DataKey>> HeaderKey(ByteView header, const EncryptionContext* expected);

 private:
  StatusOr<AeadPool*> Pool(uint16_t suite_id);
  // The data key for a new message: the thread's memo, the cache, or a new one.
  StatusOr<std::shared_ptr<const DataKey>> EncryptKey(std::string_view keyring, const EncryptionContext& context,
                                                      uint64_t bytes);
  StatusOr<std::shared_ptr<DataKey>> NewEncryptKey(const KeyringConfig& keyring, const EncryptionContext& context);
  // The authenticated data key for a header: the thread's memo, the cache,
  // or a provider unwrap followed by the commitment and tag checks.
  StatusOr<std::shared_ptr<const DataKey>> DecryptKey(ByteView header);

  const uint64_t id_;  // tells this engine's thread memos from another's
  std::unique_ptr<KeyManager> keys_;
  std::map<uint16_t, std::unique_ptr<AeadPool>> pools_;
  DataKeyCache cache_;
};

StatusOr<std::unique_ptr<EncryptStream>> MakeEncryptStream(EngineImpl& engine, std::string_view keyring,
                                                           const EncryptionContext& context, Sink sink);
StatusOr<std::unique_ptr<DecryptStream>> MakeDecryptStream(EngineImpl& engine, const EncryptionContext& context,
                                                           Sink sink);

}  // namespace ses::internal
