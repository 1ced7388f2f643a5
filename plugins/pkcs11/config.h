// The [provider.pkcs11] config section, checked and typed.
//
//   module           PKCS#11 library (default /usr/lib/softhsm/libsofthsm2.so);
//                    a key URI's module-path overrides it
//   pin_env          name of an environment variable holding the user PIN
//   pin_file         file holding the user PIN; owner-only (mode 0600 or less)
//   pool_size        sessions per token (default 4), capped by the token
//   session_wait_ms  how long a caller waits for a free session (default 5000)
//   retries          re-open/re-login attempts on recoverable errors (default 2)
//   mechanism        auto | aes-key-wrap-pad | aes-key-wrap | aes-gcm | rsa-oaep
//
// Unknown keys and malformed values are kInvalidArgument naming the key.
//
// Thread safety: values.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "ses/key_provider.h"
#include "ses/status.h"

namespace ses::pkcs11 {

inline constexpr const char* kDefaultModule = "/usr/lib/softhsm/libsofthsm2.so";

enum class Mechanism {
  kAuto,
  kAesKeyWrapPad,  // CKM_AES_KEY_WRAP_PAD (RFC 5649)
  kAesKeyWrap,     // CKM_AES_KEY_WRAP (RFC 3394): data keys a multiple of 8 bytes
  kAesGcm,         // CKM_AES_GCM: 12-byte IV, 128-bit tag, aad bound
  kRsaOaep,        // CKM_RSA_PKCS_OAEP, SHA-256 and MGF1-SHA-256
};

// The config spelling ("aes-key-wrap-pad") of a mechanism.
std::string_view MechanismName(Mechanism m);

struct Pkcs11Config {
  std::string module = kDefaultModule;
  std::string pin_env;
  std::string pin_file;
  size_t pool_size = 4;
  std::chrono::milliseconds session_wait{5000};
  int retries = 2;
  Mechanism mechanism = Mechanism::kAuto;
};

StatusOr<Pkcs11Config> ParsePkcs11Config(const PluginConfig& config);

}  // namespace ses::pkcs11
