// OpensslCipher: the SES AEAD suites on OpenSSL 3 EVP, in a library context
// private to each instance, so a deployment can demand the FIPS provider, a
// property query or its own OpenSSL config without touching the process-wide
// default context other code may share.
//
// Suites (ids are fixed by the envelope format):
//   0x0001 aes-256-gcm                    key 32, tag 16
//   0x0002 chacha20-poly1305              key 32, tag 16
//   0x0003 aes-256-gcm+chacha20-poly1305  key 64, tag 32: AES-256-GCM under the
//          first 32 key bytes, then ChaCha20-Poly1305 under the last 32 over
//          the AES ciphertext and tag (same nonce and aad, independent keys).
//
// Config keys: `properties` (OpenSSL property query, default empty; a query
// requiring fips loads the "fips" and "base" providers, otherwise "default" is
// loaded) and `config_file` (an OpenSSL config loaded into the private context
// first, e.g. one that includes fipsmodule.cnf). Any other key is an error.
//
// Ciphers are fetched once in Create; an AeadContext binds its EVP contexts
// once in NewAead, so SetKey/Seal/Open allocate nothing.
//
// Thread safety: OpensslCipher is thread-safe (read-only after Create); an
// AeadContext is used by one thread at a time.
// Ownership: the library context, providers and fetched ciphers are shared by
// the OpensslCipher and every AeadContext it made, so contexts may outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ses/cipher.h"
#include "ses/key_provider.h"
#include "ses/status.h"

namespace ses::cipher_openssl {

inline constexpr uint16_t kAes256GcmSuite = 0x0001;
inline constexpr uint16_t kChaCha20Poly1305Suite = 0x0002;
inline constexpr uint16_t kCascadeSuite = 0x0003;

// The private OpenSSL state; defined in openssl_cipher.cc.
struct OpensslLibrary;

class OpensslCipher final : public CipherProvider {
 public:
  static StatusOr<std::unique_ptr<OpensslCipher>> Create(const PluginConfig& config);

  std::vector<SuiteInfo> Suites() const override;
  // kNotFound for a suite id this provider does not implement.
  StatusOr<std::unique_ptr<AeadContext>> NewAead(uint16_t suite_id) override;

 private:
  explicit OpensslCipher(std::shared_ptr<const OpensslLibrary> lib) : lib_(std::move(lib)) {}

  std::shared_ptr<const OpensslLibrary> lib_;
};

}  // namespace ses::cipher_openssl
