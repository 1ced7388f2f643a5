#include "engine/key_manager.h"

#include "envelope/format.h"
#include "util/random.h"

namespace ses::internal {
namespace {

std::string_view SchemeOf(std::string_view uri) {
  size_t colon = uri.find(':');
  return colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
}

// Marks an unwrap error as caused by the ciphertext (bad wrapped bytes) or by
// the environment (provider down, key missing, permission).
bool CausedByCiphertext(const Status& s) { return s.code() == StatusCode::kInvalidArgument; }

}  // namespace

std::string_view KeyIdentity(std::string_view uri) { return uri.substr(0, uri.find('?')); }

KeyManager::KeyManager(std::vector<NamedKeyProvider> providers, std::vector<KeyringConfig> keyrings)
    : providers_(std::move(providers)), keyrings_(std::move(keyrings)) {
  for (const auto& k : keyrings_) {
    for (const auto& uri : k.key_uris) configured_uris_.emplace(KeyIdentity(uri), uri);
  }
}

StatusOr<std::unique_ptr<KeyManager>> KeyManager::Create(std::vector<NamedKeyProvider> providers,
                                                         std::vector<KeyringConfig> keyrings) {
  std::unique_ptr<KeyManager> km(new KeyManager(std::move(providers), std::move(keyrings)));
  std::set<std::string> names;
  for (const auto& k : km->keyrings_) {
    if (!names.insert(k.name).second) return InvalidArgumentError("duplicate keyring '" + k.name + "'");
    if (k.key_uris.empty()) return InvalidArgumentError("keyring '" + k.name + "' has no master keys");
    if (k.key_uris.size() > kMaxWrappedKeys) {
      return InvalidArgumentError("keyring '" + k.name + "' has more than " + std::to_string(kMaxWrappedKeys) +
                                  " master keys");
    }
    if (k.frame_size < kMinFrameSize || k.frame_size > kMaxFrameSize) {
      return InvalidArgumentError("keyring '" + k.name + "': frame size must be between " +
                                  std::to_string(kMinFrameSize) + " and " + std::to_string(kMaxFrameSize));
    }
    std::set<std::string> uris;
    for (const auto& uri : k.key_uris) {
      if (KeyIdentity(uri).size() > kMaxKeyUri) {
        return InvalidArgumentError("keyring '" + k.name + "': key URI longer than " + std::to_string(kMaxKeyUri) +
                                    " bytes");
      }
      // Two shares under one master key would undo an 'all' split.
      if (!uris.insert(std::string(KeyIdentity(uri))).second) {
        return InvalidArgumentError("keyring '" + k.name + "' names master key " + std::string(KeyIdentity(uri)) +
                                    " twice");
      }
      auto p = km->ProviderFor(uri);
      if (!p.ok()) return p.status().WithContext("keyring '" + k.name + "'");
      if (p.value()->name.empty() || p.value()->name.size() > kMaxProviderName) {
        return InvalidArgumentError("keyring '" + k.name + "': provider name must be 1 to " +
                                    std::to_string(kMaxProviderName) + " bytes");
      }
    }
  }
  return km;
}

std::string KeyManager::Resolve(std::string_view uri) const {
  if (uri.find('?') == std::string_view::npos) {
    if (auto it = configured_uris_.find(uri); it != configured_uris_.end()) return it->second;
  }
  return std::string(uri);
}

StatusOr<const KeyringConfig*> KeyManager::FindKeyring(std::string_view name) const {
  for (const auto& k : keyrings_) {
    if (k.name == name) return &k;
  }
  return NotFoundError("unknown keyring '" + std::string(name) + "'");
}

StatusOr<const NamedKeyProvider*> KeyManager::ProviderFor(std::string_view key_uri) const {
  std::string_view scheme = SchemeOf(key_uri);
  // Errors show the key's identity only: the query may name a PIN source.
  const std::string identity(KeyIdentity(key_uri));
  if (scheme.empty()) return InvalidArgumentError("key URI '" + identity + "' has no scheme");
  for (const auto& p : providers_) {
    for (const auto& s : p.provider->UriSchemes()) {
      if (s == scheme) return &p;
    }
  }
  return FailedPreconditionError("no key provider is configured for '" + std::string(scheme) + ":' URIs (key " +
                                 identity + ")");
}

// Whatever a provider returns must fit the header's fields, or the message
// would be one no decoder accepts.
static Status CheckWrapped(const std::string& provider, const std::string& uri, const WrappedKey& w) {
  if (w.wrapped.empty() || w.wrapped.size() > kMaxWrappedBytes) {
    return InternalError(provider + " returned a wrapped key of " + std::to_string(w.wrapped.size()) +
                         " bytes for " + uri + " (the format allows 1 to " + std::to_string(kMaxWrappedBytes) + ")");
  }
  if (w.key_version.size() > kMaxKeyVersion) {
    return InternalError(provider + " returned a key version longer than " + std::to_string(kMaxKeyVersion) +
                         " bytes for " + uri);
  }
  return OkStatus();
}

StatusOr<WrappedDataKey> KeyManager::WrapOne(const std::string& uri, const SecretBytes& key, ByteView aad) const {
  const std::string id(KeyIdentity(uri));
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, ProviderFor(uri));
  auto w = p->provider->Wrap(uri, key.span(), aad);
  if (!w.ok()) return w.status().WithContext("wrapping data key under " + id);
  SES_RETURN_IF_ERROR(CheckWrapped(p->name, id, *w));
  return WrappedDataKey{p->name, id, std::move(w->key_version), std::move(w->wrapped)};
}

StatusOr<std::vector<WrappedDataKey>> KeyManager::Wrap(const KeyringConfig& keyring, const SecretBytes& data_key,
                                                       ByteView aad) const {
  std::vector<WrappedDataKey> out;
  const size_t n = keyring.key_uris.size();
  if (keyring.mode == KeyringMode::kAny) {
    for (const auto& uri : keyring.key_uris) {
      SES_ASSIGN_OR_RETURN(auto w, WrapOne(uri, data_key, aad));
      out.push_back(std::move(w));
    }
    return out;
  }
  // Mode all: n-1 random shares, the last one makes the XOR equal the key.
  SecretBytes last = data_key.Clone();
  for (size_t i = 0; i < n; ++i) {
    SecretBytes share(data_key.size());
    if (i + 1 < n) {
      SES_RETURN_IF_ERROR(RandomBytes(share.data(), share.size()));
      for (size_t j = 0; j < share.size(); ++j) last.data()[j] ^= share.data()[j];
    } else {
      share = std::move(last);
    }
    SES_ASSIGN_OR_RETURN(auto w, WrapOne(keyring.key_uris[i], share, aad));
    out.push_back(std::move(w));
  }
  return out;
}

StatusOr<KeyManager::NewKey> KeyManager::NewDataKey(const KeyringConfig& keyring, ByteView aad) const {
  SecretBytes key;
  std::vector<WrappedDataKey> wrapped;
  if (keyring.mode == KeyringMode::kAny) {
    // A provider with its own RNG (an HSM, a KMS) makes the key and its first wrap.
    const std::string& first = keyring.key_uris.front();
    SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, ProviderFor(first));
    auto gen = p->provider->GenerateDataKey(first, kDataKeySize, aad);
    if (gen.ok()) {
      if (gen->data_key.size() != kDataKeySize) return InternalError(p->name + ": generated key has the wrong size");
      const std::string id(KeyIdentity(first));
      SES_RETURN_IF_ERROR(CheckWrapped(p->name, id, gen->wrapped));
      key = std::move(gen->data_key);
      wrapped.push_back({p->name, id, std::move(gen->wrapped.key_version), std::move(gen->wrapped.wrapped)});
      for (size_t i = 1; i < keyring.key_uris.size(); ++i) {
        SES_ASSIGN_OR_RETURN(auto w, WrapOne(keyring.key_uris[i], key, aad));
        wrapped.push_back(std::move(w));
      }
      return NewKey{std::move(key), std::move(wrapped)};
    }
    if (gen.status().code() != StatusCode::kUnimplemented) {
      return gen.status().WithContext("generating data key under " + std::string(KeyIdentity(first)));
    }
  }
  key = SecretBytes(kDataKeySize);
  SES_RETURN_IF_ERROR(RandomBytes(key.data(), key.size()));
  SES_ASSIGN_OR_RETURN(wrapped, Wrap(keyring, key, aad));
  return NewKey{std::move(key), std::move(wrapped)};
}

StatusOr<SecretBytes> KeyManager::UnwrapOne(const WrappedDataKey& k, ByteView aad) const {
  // Headers hold identities; a '?' in one cannot match a configured key.
  auto configured = configured_uris_.find(k.key_uri);
  if (configured == configured_uris_.end()) {
    return NotFoundError("master key " + Printable(k.key_uri) + " is not in any configured keyring");
  }
  const std::string& uri = configured->second;
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, ProviderFor(uri));
  if (p->name != k.provider) {
    return NotFoundError("master key " + Printable(k.key_uri) + " is served here by '" + p->name + "', not '" +
                         Printable(k.provider) + "'");
  }
  auto key = p->provider->Unwrap(uri, k.key_version, k.wrapped, aad);
  if (!key.ok()) return key.status().WithContext("unwrapping data key under " + Printable(k.key_uri));
  if (key->size() != kDataKeySize) return InvalidArgumentError("unwrapped data key has the wrong size");
  return key;
}

StatusOr<SecretBytes> KeyManager::Recover(const HeaderInfo& header, ByteView aad) const {
  if (header.mode == KeyringMode::kAny) {
    std::optional<Status> first_error;
    bool ciphertext_error = false;
    for (const auto& k : header.keys) {
      auto key = UnwrapOne(k, aad);
      if (key.ok()) return key;
      if (CausedByCiphertext(key.status())) {
        ciphertext_error = true;
      } else if (!first_error) {
        first_error = key.status();
      }
    }
    // A tampered wrapped key says only "authentication failed"; a key that is
    // missing or unreachable here is named, so the operator can act.
    if (ciphertext_error && (!first_error || first_error->code() == StatusCode::kNotFound)) {
      return AuthenticationFailedError();
    }
    std::string uris;
    for (const auto& k : header.keys) uris += (uris.empty() ? "" : ", ") + Printable(k.key_uri);
    return Status(first_error->code(), "no configured master key could unwrap this message's data key (wrapped under " +
                                           uris + "); first error: " + first_error->message());
  }
  SecretBytes key(kDataKeySize);
  for (size_t i = 0; i < header.keys.size(); ++i) {
    auto share = UnwrapOne(header.keys[i], aad);
    if (!share.ok()) {
      if (CausedByCiphertext(share.status())) return AuthenticationFailedError();
      return share.status().WithContext("keyring mode 'all' needs every share; share " + std::to_string(i + 1) +
                                        " of " + std::to_string(header.keys.size()));
    }
    for (size_t j = 0; j < kDataKeySize; ++j) key.data()[j] ^= share->data()[j];
  }
  return key;
}

}  // namespace ses::internal
