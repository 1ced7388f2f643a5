// KeyManager: keyrings, the providers behind their master keys, and the
// making and recovering of data keys (mode any: one key wrapped under each
// master key; mode all: XOR shares, one under each).
//
// Recovery is strict: only master keys named in a configured keyring are
// asked to unwrap.
//
// A key URI's query (after '?': RFC 7512's pin-source, pin-value,
// module-path and the like) says how to reach a key, not which key it is. Only
// the part before it, the key's identity, goes into headers and error
// messages; providers always get the URI as configured.
//
// Thread safety: immutable after construction; methods are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/data_key.h"
#include "ses/engine.h"

namespace ses::internal {

// The identity of a master key: its URI without the query component.
std::string_view KeyIdentity(std::string_view uri);

class KeyManager {
 public:
  static StatusOr<std::unique_ptr<KeyManager>> Create(std::vector<NamedKeyProvider> providers,
                                                      std::vector<KeyringConfig> keyrings);

  StatusOr<const KeyringConfig*> FindKeyring(std::string_view name) const;
  // A URI given without a query, for a key some keyring configures, becomes
  // that keyring's URI (with its access parameters); anything else is kept.
  std::string Resolve(std::string_view uri) const;
  StatusOr<const NamedKeyProvider*> ProviderFor(std::string_view key_uri) const;
  const std::vector<KeyringConfig>& keyrings() const { return keyrings_; }

  struct NewKey {
    SecretBytes key;
    std::vector<WrappedDataKey> wrapped;
  };
  // A fresh data key wrapped under every master key of `keyring`.
  StatusOr<NewKey> NewDataKey(const KeyringConfig& keyring, ByteView aad) const;
  // Wraps an existing data key under `keyring` (ReEncrypt).
  StatusOr<std::vector<WrappedDataKey>> Wrap(const KeyringConfig& keyring, const SecretBytes& data_key,
                                             ByteView aad) const;
  // The data key of a message, from its header's wrapped keys.
  StatusOr<SecretBytes> Recover(const HeaderInfo& header, ByteView aad) const;

 private:
  KeyManager(std::vector<NamedKeyProvider> providers, std::vector<KeyringConfig> keyrings);
  StatusOr<WrappedDataKey> WrapOne(const std::string& uri, const SecretBytes& key, ByteView aad) const;
  // Unwraps one entry if its master key is configured; nullopt-like NotFound otherwise.
  StatusOr<SecretBytes> UnwrapOne(const WrappedDataKey& k, ByteView aad) const;

  std::vector<NamedKeyProvider> providers_;
  std::vector<KeyringConfig> keyrings_;
  // Key identity (URI without its query) -> the URI as configured.
  std::map<std::string, std::string, std::less<>> configured_uris_;
};

}  // namespace ses::internal
