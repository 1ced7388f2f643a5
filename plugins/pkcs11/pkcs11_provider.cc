#include "pkcs11_provider.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "ckr.h"
#include "module.h"
#include "wrap_ops.h"

namespace ses::pkcs11 {
namespace {

Status NotFoundKey(const KeyUri& uri, std::string_view version = {}) {
  std::string msg = "pkcs11: " + KeyContext(uri, version) + " not found (the token has no ";
  msg += uri.object_class == CKO_PRIVATE_KEY ? "RSA private key" : "AES secret key";
  msg += " with that label";
  if (uri.id.has_value()) msg += " and id";
  msg += version.empty() ? " and a CKA_ID)" : " and CKA_ID)";
  return NotFoundError(std::move(msg));
}

}  // namespace

struct Pkcs11Provider::Token {
  Token(const Module& module, TokenSelector selector, PoolOptions options)
      : pool(module, std::move(selector), options) {}

  SessionPool pool;
  KeyCache keys;
  OaepMemo oaep;
};

Pkcs11Provider::Pkcs11Provider(Pkcs11Config config) : config_(std::move(config)) {}

Pkcs11Provider::~Pkcs11Provider() = default;

StatusOr<std::unique_ptr<Pkcs11Provider>> Pkcs11Provider::Create(const PluginConfig& config) {
  SES_ASSIGN_OR_RETURN(Pkcs11Config c, ParsePkcs11Config(config));
  // Checked now so a bad deployment fails at start, not at the first login;
  // the file is read (and checked again) only when a login needs it.
  if (!c.pin_file.empty()) SES_RETURN_IF_ERROR(CheckPinFile(c.pin_file));
  if (config.count("module") != 0) {
    struct stat st;
    if (::stat(c.module.c_str(), &st) != 0) {
      if (errno == ENOENT) return NotFoundError("pkcs11: module " + c.module + " does not exist");
      return FailedPreconditionError("pkcs11: module " + c.module + ": " +
                                     std::error_code(errno, std::generic_category()).message());
    }
  }
  return std::unique_ptr<Pkcs11Provider>(new Pkcs11Provider(std::move(c)));
}

StatusOr<Pkcs11Provider::Token*> Pkcs11Provider::TokenFor(const KeyUri& uri) {
  const std::string& path = uri.module_path.empty() ? config_.module : uri.module_path;
  SES_ASSIGN_OR_RETURN(const Module* module, Module::Get(path));
  std::lock_guard lock(tokens_mu_);
  auto& token = tokens_[{module, uri.token.Key()}];
  if (token == nullptr) {
    PoolOptions options{config_.pool_size, config_.session_wait, config_.retries};
    token = std::make_unique<Token>(*module, uri.token, options);
  }
  return token.get();
}

PinSource Pkcs11Provider::PinFor(const KeyUri& uri) const {
  // Called, if at all, during the operation on `uri`, which outlives it.
  return [this, &uri] { return ResolvePin(uri, PinSettings{config_.pin_env, config_.pin_file}); };
}

Status Pkcs11Provider::WithKey(Token& token, Lease& s, const KeyUri& uri,
                               const std::vector<uint8_t>* version,
                               const std::function<Status(const KeyObject&)>& op) {
  for (int pass = 0;; ++pass) {
    bool cached = false;
    SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyVersions> versions,
                         token.keys.Get(s, uri, pass > 0, &cached));
    const KeyObject* key = nullptr;
    if (version == nullptr) {
      if (!versions->empty()) key = &versions->back();
    } else {
      for (const KeyObject& k : *versions) {
        if (k.id == *version) key = &k;
      }
    }
    if (key == nullptr) {
      if (cached) continue;  // made since it was cached? search the token
      // A session that lost its login sees no private objects: that is a
      // lost login to recover from, not a missing key.
      if (s.token().logged_in && !SessionLoggedIn(s.fn(), s.handle())) {
        return s.Check("C_GetSessionInfo", CKR_USER_NOT_LOGGED_IN, KeyContext(uri));
      }
      return version == nullptr ? NotFoundKey(uri) : NotFoundKey(uri, VersionString(*version));
    }
    Status status = op(*key);
    if (status.ok() || !cached || !IsStaleHandle(s.last_rv())) {
      if (!status.ok() && IsStaleHandle(s.last_rv())) token.keys.Forget(uri);
      return status;
    }
    // The cached handle names nothing now (the key was deleted, or the
    // token reloaded): search again, once.
    token.keys.Forget(uri);
    s.ForgetRv();
  }
}

namespace {

// The first byte of every wrapped key names how it was wrapped, so changing
// the configured mechanism (or moving to a token with other mechanisms)
// never strands older wraps. RSA-OAEP records the family: the hash follows
// the token, as under `auto`.
constexpr uint8_t kTagKeyWrapPad = 1, kTagKeyWrap = 2, kTagGcm = 3, kTagRsaOaep = 4;

uint8_t TagFor(Mechanism m) {
  switch (m) {
    case Mechanism::kAesKeyWrapPad: return kTagKeyWrapPad;
    case Mechanism::kAesKeyWrap: return kTagKeyWrap;
    case Mechanism::kAesGcm: return kTagGcm;
    default: return kTagRsaOaep;
  }
}

std::vector<uint8_t> Tagged(Mechanism m, std::vector<uint8_t> blob) {
  blob.insert(blob.begin(), TagFor(m));
  return blob;
}

// The mechanism a wrapped key records; kInvalidArgument for a tag no
// version of this plugin writes (a damaged blob).
StatusOr<Mechanism> RecordedMechanism(std::span<const uint8_t> wrapped, const std::string& context) {
  if (wrapped.size() >= 2) {
    switch (wrapped[0]) {
      case kTagKeyWrapPad: return Mechanism::kAesKeyWrapPad;
      case kTagKeyWrap: return Mechanism::kAesKeyWrap;
      case kTagGcm: return Mechanism::kAesGcm;
      case kTagRsaOaep: return Mechanism::kAuto;  // RSA under auto: OAEP, hash per token
    }
  }
  return InvalidArgumentError("pkcs11: wrapped key has no valid mechanism tag (" + context + ")");
}

}  // namespace

StatusOr<std::shared_ptr<const KeyUri>> Pkcs11Provider::Parsed(std::string_view key_uri) {
  {
    std::lock_guard<std::mutex> lock(parsed_mu_);
    if (auto it = parsed_.find(key_uri); it != parsed_.end()) return it->second;
  }
  SES_ASSIGN_OR_RETURN(KeyUri uri, ParseKeyUri(key_uri));
  auto shared = std::make_shared<const KeyUri>(std::move(uri));
  std::lock_guard<std::mutex> lock(parsed_mu_);
  // A deployment names a handful of keys; a flood of distinct URIs just
  // starts the cache over (entries hold PINs only as SecretBytes).
  if (parsed_.size() >= 256) parsed_.clear();
  parsed_.emplace(std::string(key_uri), shared);
  return shared;
}

StatusOr<WrappedKey> Pkcs11Provider::Wrap(std::string_view key_uri,
                                          std::span<const uint8_t> data_key,
                                          std::span<const uint8_t> aad) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  if (data_key.empty() || data_key.size() > kMaxDataKeyBytes) {
    return InvalidArgumentError("pkcs11: data key is " + std::to_string(data_key.size()) +
                                " bytes; expected 1 to " + std::to_string(kMaxDataKeyBytes));
  }
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  WrappedKey out;
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) {
    return WithKey(*token, s, uri, nullptr, [&](const KeyObject& k) -> Status {
      const std::string context = KeyContext(uri, k.version);
      SES_ASSIGN_OR_RETURN(Plan plan, ChoosePlan(config_.mechanism, k.key_type,
                                                 s.token().mechanisms, context));
      SES_ASSIGN_OR_RETURN(std::vector<uint8_t> blob,
                           WrapDataKey(s, plan, k, data_key, aad, token->oaep, context));
      out.wrapped = Tagged(plan.mechanism, std::move(blob));
      out.key_version = k.version;
      return OkStatus();
    });
  });
  if (!run.ok()) return run;
  return out;
}

StatusOr<SecretBytes> Pkcs11Provider::Unwrap(std::string_view key_uri,
                                             std::string_view key_version,
                                             std::span<const uint8_t> wrapped,
                                             std::span<const uint8_t> aad) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  if (wrapped.empty() || wrapped.size() > kMaxWrappedBytes) {
    return InvalidArgumentError("pkcs11: wrapped key is " + std::to_string(wrapped.size()) +
                                " bytes; expected 1 to " + std::to_string(kMaxWrappedBytes) + " (" +
                                KeyContext(uri) + ")");
  }
  SES_ASSIGN_OR_RETURN(std::vector<uint8_t> id, ParseVersion(key_version, uri));
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  SecretBytes out;
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) {
    return WithKey(*token, s, uri, &id, [&](const KeyObject& k) -> Status {
      const std::string context = KeyContext(uri, k.version);
      // The mechanism the blob records, not the one configured now.
      SES_ASSIGN_OR_RETURN(Mechanism recorded, RecordedMechanism(wrapped, context));
      SES_ASSIGN_OR_RETURN(Plan plan, ChoosePlan(recorded, k.key_type, s.token().mechanisms, context));
      SES_ASSIGN_OR_RETURN(out, UnwrapDataKey(s, plan, k, wrapped.subspan(1), aad, token->oaep, context));
      return OkStatus();
    });
  });
  if (!run.ok()) return run;
  return out;
}

StatusOr<GeneratedDataKey> Pkcs11Provider::GenerateDataKey(std::string_view key_uri,
                                                           size_t key_len,
                                                           std::span<const uint8_t> aad) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  GeneratedDataKey out;
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) -> Status {
    if (!s.token().mechanisms.Has(CKM_AES_KEY_GEN, CKF_GENERATE)) {
      // The engine then makes the key itself and calls Wrap.
      return UnimplementedError("pkcs11: token '" + uri.token.label +
                                "' does not offer CKM_AES_KEY_GEN");
    }
    return WithKey(*token, s, uri, nullptr, [&](const KeyObject& k) -> Status {
      const std::string context = KeyContext(uri, k.version);
      SES_ASSIGN_OR_RETURN(Plan plan, ChoosePlan(config_.mechanism, k.key_type,
                                                 s.token().mechanisms, context));
      SES_ASSIGN_OR_RETURN(GeneratedKey made, pkcs11::GenerateDataKey(s, plan, k, key_len, aad,
                                                                      token->oaep, context));
      out.data_key = std::move(made.value);
      out.wrapped.wrapped = Tagged(plan.mechanism, std::move(made.wrapped));
      out.wrapped.key_version = k.version;
      return OkStatus();
    });
  });
  if (!run.ok()) return run;
  return out;
}

StatusOr<std::string> Pkcs11Provider::CreateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  if (uri.object_class != CKO_SECRET_KEY) {
    return FailedPreconditionError("pkcs11: SES creates AES secret keys only; make RSA key pairs "
                                   "with the token's own tools (" + KeyContext(uri) + ")");
  }
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  const std::vector<uint8_t> id = uri.id.value_or(std::vector<uint8_t>{0, 0, 0, 1});
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) -> Status {
    const std::string context = KeyContext(uri, VersionString(id));
    SES_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing, FindLabelled(s, uri));
    if (!existing.empty()) {
      return AlreadyExistsError("pkcs11: " + KeyContext(uri) +
                                " already exists; rotate it to add a version");
    }
    SES_ASSIGN_OR_RETURN(Plan plan,
                         ChoosePlan(config_.mechanism, CKK_AES, s.token().mechanisms, context));
    return CreateMasterKey(s, plan, uri, id, context);
  });
  if (!run.ok()) return run;
  token->keys.Forget(uri);
  return UriWithoutPinValue(key_uri);
}

StatusOr<std::string> Pkcs11Provider::RotateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  if (uri.object_class != CKO_SECRET_KEY) {
    return FailedPreconditionError("pkcs11: SES rotates AES secret keys only; add an RSA key pair "
                                   "with the token's own tools (" + KeyContext(uri) + ")");
  }
  if (uri.id.has_value()) {
    return FailedPreconditionError("pkcs11: cannot rotate a key URI that pins id= (" +
                                   KeyContext(uri) + "); name the key without id=");
  }
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  std::string version;
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) -> Status {
    SES_ASSIGN_OR_RETURN(KeyVersions versions, FindKeyVersions(s, uri));
    if (versions.empty()) return NotFoundKey(uri);
    SES_ASSIGN_OR_RETURN(std::vector<uint8_t> next, NextVersionId(versions, uri));
    const std::string context = KeyContext(uri, VersionString(next));
    SES_ASSIGN_OR_RETURN(Plan plan,
                         ChoosePlan(config_.mechanism, CKK_AES, s.token().mechanisms, context));
    SES_RETURN_IF_ERROR(CreateMasterKey(s, plan, uri, next, context));
    version = VersionString(next);
    return OkStatus();
  });
  if (!run.ok()) return run;
  token->keys.Forget(uri);
  return version;
}

StatusOr<std::vector<std::string>> Pkcs11Provider::ListVersions(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  std::vector<std::string> out;
  Status run = token->pool.Run(PinFor(uri), [&](Lease& s) -> Status {
    bool cached = false;
    SES_ASSIGN_OR_RETURN(auto versions, token->keys.Get(s, uri, true, &cached));
    if (versions->empty()) return NotFoundKey(uri);
    for (const KeyObject& k : *versions) out.push_back(k.version);
    return OkStatus();
  });
  if (!run.ok()) return run;
  return out;
}

Status Pkcs11Provider::Health() {
  std::vector<Token*> tokens;
  {
    std::lock_guard lock(tokens_mu_);
    for (auto& [key, token] : tokens_) tokens.push_back(token.get());
  }
  for (Token* token : tokens) SES_RETURN_IF_ERROR(token->pool.Health());
  return OkStatus();
}

Status Pkcs11Provider::WithSessionForTesting(std::string_view key_uri,
                                             const std::function<Status(Lease&)>& op) {
  SES_ASSIGN_OR_RETURN(std::shared_ptr<const KeyUri> parsed, Parsed(key_uri));
  const KeyUri& uri = *parsed;
  SES_ASSIGN_OR_RETURN(Token * token, TokenFor(uri));
  return token->pool.Run(PinFor(uri), op);
}

}  // namespace ses::pkcs11
