// KeyProvider: wraps and unwraps data keys under master keys that never leave
// the provider (a key file, a PKCS#11 token, a cloud KMS).
//
// The engine talks only to this interface. Plugin authors implement it and
// export it with SES_KEY_PROVIDER_PLUGIN (ses/plugin/key_provider_adapter.h);
// the host sees plugins through the same interface (a wrapper over the C ABI).
//
// Contract:
//  - Wrap binds `aad` (the canonical encryption context) where the backend
//    can; Unwrap must then receive the same aad.
//  - A call may be slow or fail transiently: kUnavailable means "retry later
//    or try another master key", every other code is final for this input.
//  - Errors name the key URI and the backend's own error (function and CKR_
//    name, HTTP status and code) and never key bytes or credentials.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses {

// A plugin instance's configuration: the keys of its config section.
using PluginConfig = std::map<std::string, std::string>;

struct WrappedKey {
  std::vector<uint8_t> wrapped;
  std::string key_version;
};

struct GeneratedDataKey {
  SecretBytes data_key;
  WrappedKey wrapped;
};

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // URI schemes this provider serves (without ':'), e.g. {"keyfile"}.
  virtual std::vector<std::string> UriSchemes() const = 0;

  virtual StatusOr<WrappedKey> Wrap(std::string_view key_uri, std::span<const uint8_t> data_key,
                                    std::span<const uint8_t> aad) = 0;

  virtual StatusOr<SecretBytes> Unwrap(std::string_view key_uri, std::string_view key_version,
                                       std::span<const uint8_t> wrapped,
                                       std::span<const uint8_t> aad) = 0;

  // Providers with a hardware RNG may generate data keys themselves.
  // kUnimplemented means "the host generates and calls Wrap".
  virtual StatusOr<GeneratedDataKey> GenerateDataKey(std::string_view /*key_uri*/,
                                                     size_t /*key_len*/,
                                                     std::span<const uint8_t> /*aad*/) {
    return UnimplementedError("provider does not generate data keys");
  }

  // Key management, where the backend allows it. Returns the URI of the key.
  virtual StatusOr<std::string> CreateKey(std::string_view /*key_uri*/) {
    return UnimplementedError("provider cannot create master keys");
  }
  // Adds a new version that new wraps use; older versions still unwrap.
  virtual StatusOr<std::string> RotateKey(std::string_view /*key_uri*/) {
    return UnimplementedError("provider cannot rotate master keys");
  }
  // Versions oldest first; the last one is current.
  virtual StatusOr<std::vector<std::string>> ListVersions(std::string_view /*key_uri*/) {
    return UnimplementedError("provider cannot list key versions");
  }

  virtual Status Health() { return OkStatus(); }
};

}  // namespace ses
