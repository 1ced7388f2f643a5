// Engine: envelope encryption over keyrings of master keys.
//
// Every message gets its own key, derived with HKDF-SHA256 from a data key
// and the message's random id; data keys are wrapped by master keys held in
// key providers and cached (within limits) so a provider is called once per
// data key, not per message. See docs/format.md for the bytes.
//
// Decryption is strict: it only asks providers to unwrap under master keys
// that appear in one of the engine's keyrings, so a hostile header cannot
// make the engine call a key it was not configured with. A header naming a
// master key this engine does not have gets kNotFound naming that key (the
// header shows it anyway); every other failure caused by the ciphertext is
// kInvalidArgument "authentication failed", with no detail.
//
// Thread safety: all Engine methods may be called concurrently. A stream
// object is used by one thread at a time and must not outlive its Engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ses/cipher.h"
#include "ses/envelope.h"
#include "ses/key_provider.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses {

struct KeyringConfig {
  std::string name;
  KeyringMode mode = KeyringMode::kAny;
  std::vector<std::string> key_uris;   // master keys; the first generates data keys
  uint16_t suite_id = kSuiteAes256Gcm;
  uint32_t frame_size = 64 * 1024;     // plaintext bytes per frame
};

// A cached data key is dropped when any limit is reached; its key material is
// wiped when the last message using it finishes.
struct CacheLimits {
  std::chrono::seconds max_age{300};
  uint64_t max_messages = 1'000'000;     // messages encrypted under one data key
  uint64_t max_bytes = uint64_t{1} << 36;  // 64 GiB of plaintext under one data key
  size_t max_entries = 1000;             // per direction (encrypt, decrypt)
  bool enabled = true;
};

// Hits served from a thread's memo of its last key are added in batches, so
// another thread's most recent hits may not show yet.
struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
};

struct NamedKeyProvider {
  std::string name;  // the plugin name recorded in envelopes, e.g. "keyfile"
  std::shared_ptr<KeyProvider> provider;
};

struct EngineOptions {
  std::vector<KeyringConfig> keyrings;
  std::vector<NamedKeyProvider> providers;
  std::shared_ptr<CipherProvider> cipher;
  CacheLimits cache;
};

// Receives output bytes; a non-OK status aborts the stream.
using Sink = std::function<Status(std::span<const uint8_t>)>;

// A data key for a client that encrypts locally (see ses/local_envelope.h).
struct DataKeyGrant {
  SecretBytes data_key;                 // 32 bytes
  std::vector<uint8_t> encrypted_key;   // the header template: safe to store, names the master keys
};

class EncryptStream {
 public:
  virtual ~EncryptStream() = default;
  virtual Status Write(std::span<const uint8_t> plaintext) = 0;
  // Seals the final frame. No Write after Finish.
  virtual Status Finish() = 0;
};

// Plaintext reaches the sink one frame at a time, each only after its tag
// verified. Finish fails if the message was truncated: callers that must not
// release partial output (files) hold it until Finish succeeds.
class DecryptStream {
 public:
  virtual ~DecryptStream() = default;
  virtual Status Write(std::span<const uint8_t> ciphertext) = 0;
  virtual Status Finish() = 0;
  // The authenticated header, once Write has consumed it (else nullptr).
  virtual const HeaderInfo* header() const = 0;
};

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Create(EngineOptions options);
  virtual ~Engine() = default;

  virtual StatusOr<std::vector<uint8_t>> Encrypt(std::string_view keyring, const EncryptionContext& context,
                                                 std::span<const uint8_t> plaintext) = 0;
  // `context` must equal the context sealed in the message.
  virtual StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext,
                                                 const EncryptionContext& context) = 0;

  // As Encrypt and Decrypt, into `out` (resized to fit; its capacity is
  // reused, so a caller looping over messages allocates nothing). On failure
  // `out` is wiped and emptied.
  virtual Status EncryptTo(std::string_view keyring, const EncryptionContext& context,
                           std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) = 0;
  virtual Status DecryptTo(std::span<const uint8_t> ciphertext, const EncryptionContext& context,
                           std::vector<uint8_t>& out) = 0;

  virtual StatusOr<std::unique_ptr<EncryptStream>> NewEncryptStream(std::string_view keyring,
                                                                    const EncryptionContext& context,
                                                                    Sink sink) = 0;
  virtual StatusOr<std::unique_ptr<DecryptStream>> NewDecryptStream(const EncryptionContext& context,
                                                                    Sink sink) = 0;

  // Rewraps the data key under `keyring`'s current master keys (and mode).
  // Only the header changes: the body bytes are reused as they are, so the
  // message keeps its suite and frame size whatever the keyring says. `header` must hold
  // at least the whole header (HeaderSize tells how much that is); the
  // returned bytes replace exactly that many leading bytes.
  virtual StatusOr<std::vector<uint8_t>> ReEncryptHeader(std::span<const uint8_t> header,
                                                         std::string_view keyring) = 0;
  StatusOr<std::vector<uint8_t>> ReEncrypt(std::span<const uint8_t> ciphertext, std::string_view keyring);

  // A fresh data key (never cached or shared with Encrypt) for `keyring` and
  // `context`. `encrypted_key` is the header every message under it carries,
  // with a zero message id: wrapped keys, commitment and header tag, nothing
  // secret (docs/format.md §10a).
  virtual StatusOr<DataKeyGrant> GenerateDataKey(std::string_view keyring, const EncryptionContext& context) = 0;
  // The data key inside `encrypted_key`: a DataKeyGrant's encrypted_key or
  // the header of any message (at least HeaderSize bytes; trailing body
  // bytes are ignored). Same checks and same errors as Decrypt: strict
  // recovery, commitment and header tag verified, `context` must equal the
  // sealed one; every failure caused by the bytes is "authentication failed"
  // (kInvalidArgument) except an unconfigured master key (kNotFound naming it).
  virtual StatusOr<SecretBytes> DecryptDataKey(std::span<const uint8_t> encrypted_key,
                                               const EncryptionContext& context) = 0;

  // Total header size announced by a message's first 8 bytes.
  static StatusOr<size_t> HeaderSize(std::span<const uint8_t> prefix);
  // Decodes a header without keys or authentication (for inspection).
  static StatusOr<HeaderInfo> Inspect(std::span<const uint8_t> header);

  // Master-key management through the provider serving the URI's scheme. A
  // URI without a query that a keyring configures is used as configured
  // (with its access parameters, e.g. a PIN source).
  virtual StatusOr<std::string> CreateKey(std::string_view key_uri) = 0;
  virtual StatusOr<std::string> RotateKey(std::string_view key_uri) = 0;
  virtual StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) = 0;
  // Drops every data key cached for encryption, so the next message gets a
  // new data key wrapped under the master keys' current versions (sesd calls
  // this when another node rotated a key). Decryption is unaffected.
  virtual void ForgetEncryptKeys() = 0;

  virtual const std::vector<KeyringConfig>& keyrings() const = 0;
  virtual CacheStats cache_stats() const = 0;
};

// The name of a suite id ("aes-256-gcm"), or "unknown".
std::string_view SuiteName(uint16_t suite_id);
// The suite id for a name; kInvalidArgument listing the names otherwise.
StatusOr<uint16_t> SuiteFromName(std::string_view name);

}  // namespace ses
