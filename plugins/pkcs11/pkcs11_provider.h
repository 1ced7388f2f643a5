// Pkcs11Provider: master keys on a PKCS#11 token (an HSM, or SoftHSM2 in
// tests), named by RFC 7512 URIs; SES asks the token to wrap and unwrap
// data keys, and the master keys never leave it.
//
//   [provider.pkcs11]                 (every key optional; see config.h)
//   module = /usr/lib/softhsm/libsofthsm2.so
//   pin_file = /run/ses/user.pin
//
//   key = pkcs11:token=ses-test;object=master?pin-source=/run/ses/user.pin
//
// How the pieces fit: a URI (uri.h) names a token, a key label and maybe an
// id; the token is reached through a process-wide Module (module.h) and this
// provider's SessionPool for it (session_pool.h), which logs in and recovers;
// the key's versions are token objects found by label (key_objects.h); the
// mechanism is chosen per key and token (wrap_ops.h).
//
// Versions are the lowercase hex of the objects' CKA_IDs ("00000001");
// CreateKey makes version 00000001 (an AES-256 key, sensitive, never
// extractable), RotateKey the next one, and every version still unwraps.
// CreateKey and RotateKey are not atomic across processes: two running at
// once may both make the same version; run key management from one place.
//
// Thread safety: every method may be called from many threads at once.
// Ownership: the provider owns its pools (and so its sessions); modules are
// process-wide and outlive it. No PIN is kept: PINs are read from their
// source when a token needs a login and wiped right after.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.h"
#include "module.h"
#include "key_objects.h"
#include "ses/key_provider.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"
#include "session_pool.h"
#include "uri.h"

namespace ses::pkcs11 {

class Pkcs11Provider final : public KeyProvider {
 public:
  static constexpr const char* kUriSchemes = "pkcs11";
  static constexpr size_t kMaxDataKeyBytes = 1024;
  static constexpr size_t kMaxWrappedBytes = 2048;

  static StatusOr<std::unique_ptr<Pkcs11Provider>> Create(const PluginConfig& config);

  ~Pkcs11Provider() override;
  Pkcs11Provider(const Pkcs11Provider&) = delete;
  Pkcs11Provider& operator=(const Pkcs11Provider&) = delete;

  std::vector<std::string> UriSchemes() const override { return {kUriSchemes}; }
  StatusOr<WrappedKey> Wrap(std::string_view key_uri, std::span<const uint8_t> data_key,
                            std::span<const uint8_t> aad) override;
  StatusOr<SecretBytes> Unwrap(std::string_view key_uri, std::string_view key_version,
                               std::span<const uint8_t> wrapped,
                               std::span<const uint8_t> aad) override;
  StatusOr<GeneratedDataKey> GenerateDataKey(std::string_view key_uri, size_t key_len,
                                             std::span<const uint8_t> aad) override;
  // Returns `key_uri` without any pin-value.
  StatusOr<std::string> CreateKey(std::string_view key_uri) override;
  StatusOr<std::string> RotateKey(std::string_view key_uri) override;
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override;
  Status Health() override;

  // For tests: runs `op` on a session of `key_uri`'s token, as operations do
  // (so a test can hold a session, or see the slot).
  Status WithSessionForTesting(std::string_view key_uri, const std::function<Status(Lease&)>& op);

 private:
  struct Token;

  explicit Pkcs11Provider(Pkcs11Config config);

  // `key_uri` parsed, from a small cache: parsing (p11-kit plus redaction)
  // cost several microseconds per call, a tenth of a SoftHSM2 round trip.
  StatusOr<std::shared_ptr<const KeyUri>> Parsed(std::string_view key_uri);
  // The token `uri` names (its module loaded on first use).
  StatusOr<Token*> TokenFor(const KeyUri& uri);
  PinSource PinFor(const KeyUri& uri) const;
  // Runs `op` with the version of `uri`'s key that `version` names (the
  // current one if `version` is null). A cached handle that turns out stale
  // is searched for again, once.
  Status WithKey(Token& token, Lease& s, const KeyUri& uri, const std::vector<uint8_t>* version,
                 const std::function<Status(const KeyObject&)>& op);

  const Pkcs11Config config_;
  std::mutex parsed_mu_;
  std::map<std::string, std::shared_ptr<const KeyUri>, std::less<>> parsed_;  // bounded, see Parsed()
  std::mutex tokens_mu_;
  // By module and TokenSelector::Key(); never erased while the provider lives.
  std::map<std::pair<const Module*, std::string>, std::unique_ptr<Token>> tokens_;
};

}  // namespace ses::pkcs11
