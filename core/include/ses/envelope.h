// The parts of the envelope format (v1) that callers see: encryption
// contexts, keyring modes and the header fields `inspect` reports.
// docs/format.md specifies every byte.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ses {

// Authenticated, unencrypted key/value pairs bound to a message. std::map
// keeps keys in byte order, which is the canonical order on the wire.
using EncryptionContext = std::map<std::string, std::string>;

enum class KeyringMode : uint8_t {
  kAny = 1,  // every master key wraps the same data key; any one decrypts
  kAll = 2,  // the data key is split into XOR shares; every key is needed
};

// Suite ids fixed by the format.
inline constexpr uint16_t kSuiteAes256Gcm = 0x0001;
inline constexpr uint16_t kSuiteChaCha20Poly1305 = 0x0002;
inline constexpr uint16_t kSuiteAesGcmChaChaCascade = 0x0003;

struct WrappedDataKey {
  std::string provider;     // plugin name, e.g. "keyfile"
  std::string key_uri;      // master key, e.g. "keyfile:///etc/ses/master.key"
  std::string key_version;  // provider-defined
  std::vector<uint8_t> wrapped;
};

// A decoded header. Nothing in it is secret.
struct HeaderInfo {
  uint8_t format_version = 1;
  uint16_t suite_id = 0;
  KeyringMode mode = KeyringMode::kAny;
  std::array<uint8_t, 32> message_id{};
  uint32_t frame_size = 0;
  EncryptionContext context;
  std::vector<WrappedDataKey> keys;
  std::array<uint8_t, 32> commitment{};
  std::vector<uint8_t> tag;
  size_t header_size = 0;   // bytes, tag included
};

}  // namespace ses
