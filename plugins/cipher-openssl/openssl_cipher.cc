#include "openssl_cipher.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "ses/secret_bytes.h"

namespace ses::cipher_openssl {

struct OpensslLibrary {
  OpensslLibrary() = default;
  OpensslLibrary(const OpensslLibrary&) = delete;
  OpensslLibrary& operator=(const OpensslLibrary&) = delete;
  // Reverse order of creation: ciphers hold references into the providers,
  // which belong to the library context.
  ~OpensslLibrary() {
    EVP_CIPHER_free(chacha20_poly1305);
    EVP_CIPHER_free(aes_256_gcm);
    for (auto it = providers.rbegin(); it != providers.rend(); ++it) OSSL_PROVIDER_unload(*it);
    OSSL_LIB_CTX_free(libctx);
  }

  OSSL_LIB_CTX* libctx = nullptr;
  std::vector<OSSL_PROVIDER*> providers;
  EVP_CIPHER* aes_256_gcm = nullptr;
  EVP_CIPHER* chacha20_poly1305 = nullptr;
};

namespace {

constexpr std::string_view kPrefix = "cipher-openssl: ";
constexpr size_t kLayerKeySize = 32;
constexpr size_t kLayerTagSize = 16;
// EVP lengths are int; longer inputs go through in pieces of this size.
constexpr size_t kMaxUpdate = size_t{1} << 30;

// The first (root-cause) error on this thread's OpenSSL queue, as one line;
// the rest is drained so it cannot be blamed on a later, unrelated call.
std::string TakeOpensslError() {
  const char* data = nullptr;
  int flags = 0;
  unsigned long first = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
  std::string text;
  if (first == 0) {
    text = "no error reported";
  } else {
    const char* lib = ERR_lib_error_string(first);
    const char* reason = ERR_reason_error_string(first);
    if (lib != nullptr && reason != nullptr) {
      text = std::string(lib) + ": " + reason;
    } else {
      char buf[256];
      ERR_error_string_n(first, buf, sizeof(buf));
      text = buf;
    }
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      text += std::string(" (") + data + ")";
    }
  }
  ERR_clear_error();
  return text;
}

Status OpensslFailure(StatusCode code, std::string what, const char* function) {
  return Status(code, std::string(kPrefix) + what + " (" + function + ": " + TakeOpensslError() + ")");
}

// True if the query insists on FIPS implementations. Optional clauses
// ("?fips=yes") do not: any provider satisfies them.
bool RequiresFips(std::string_view query) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = std::min(query.find(',', start), query.size());
    std::string clause;
    for (char c : query.substr(start, end - start)) {
      if (std::isspace(static_cast<unsigned char>(c)) == 0 && c != '"') {
        clause += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
    if (clause == "fips" || clause == "fips=yes" || clause == "fips=true" || clause == "provider=fips") {
      return true;
    }
    start = end + 1;
  }
  return false;
}

Status LoadProvider(OpensslLibrary& lib, const char* name, const std::string& properties) {
  OSSL_PROVIDER* prov = OSSL_PROVIDER_load(lib.libctx, name);
  if (prov == nullptr) {
    if (std::string_view(name) == "fips") {
      return OpensslFailure(StatusCode::kFailedPrecondition,
                            "properties '" + properties +
                                "' need the OpenSSL FIPS provider, which is not installed or not "
                                "configured (give a config_file that includes fipsmodule.cnf)",
                            "OSSL_PROVIDER_load");
    }
    return OpensslFailure(StatusCode::kFailedPrecondition,
                          std::string("cannot load the OpenSSL '") + name + "' provider",
                          "OSSL_PROVIDER_load");
  }
  lib.providers.push_back(prov);  // reserved by the caller: cannot throw
  return OkStatus();
}

StatusOr<EVP_CIPHER*> FetchCipher(OpensslLibrary& lib, const char* algorithm,
                                  const std::string& properties) {
  // The query is also the context default; passing it again only makes
  // OpenSSL's error name it. Empty means "whatever config_file chose".
  EVP_CIPHER* cipher =
      EVP_CIPHER_fetch(lib.libctx, algorithm, properties.empty() ? nullptr : properties.c_str());
  if (cipher == nullptr) {
    return OpensslFailure(StatusCode::kFailedPrecondition,
                          std::string("no ") + algorithm + " implementation matches properties '" +
                              properties + "'",
                          "EVP_CIPHER_fetch");
  }
  // The suites are defined with these sizes; a provider offering others
  // under the same name would silently change the envelope format.
  if (EVP_CIPHER_get_key_length(cipher) != static_cast<int>(kLayerKeySize) ||
      EVP_CIPHER_get_iv_length(cipher) != static_cast<int>(kAeadNonceSize)) {
    EVP_CIPHER_free(cipher);
    return FailedPreconditionError(std::string(kPrefix) + algorithm +
                                   " from the selected provider has an unexpected key or nonce size");
  }
  return cipher;
}

// One AEAD algorithm with its own encrypt and decrypt EVP contexts. Each is
// bound to the cipher once (rebinding would free and reallocate the provider
// context), keyed on first use after ForgetKey(), and after that given only
// a new nonce. Not thread-safe.
class EvpAead {
 public:
  explicit EvpAead(const EVP_CIPHER* cipher) : cipher_(cipher) {}

  Status Init() {
    enc_.reset(EVP_CIPHER_CTX_new());
    dec_.reset(EVP_CIPHER_CTX_new());
    if (enc_ == nullptr || dec_ == nullptr) {
      return OpensslFailure(StatusCode::kResourceExhausted, "cannot allocate a cipher context",
                            "EVP_CIPHER_CTX_new");
    }
    if (EVP_EncryptInit_ex2(enc_.get(), cipher_, nullptr, nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(dec_.get(), cipher_, nullptr, nullptr, nullptr) != 1) {
      return OpensslFailure(StatusCode::kInternal, "cannot bind a cipher context", "EVP_CipherInit_ex2");
    }
    return OkStatus();
  }

  void ForgetKey() { enc_keyed_ = dec_keyed_ = false; }

  // Writes len bytes of ciphertext to out (which may equal in) and the tag to tag.
  Status Seal(const uint8_t* key, const AeadNonce& nonce, std::span<const uint8_t> aad,
              const uint8_t* in, size_t len, uint8_t* out, uint8_t* tag) {
    EVP_CIPHER_CTX* ctx = enc_.get();
    if (EVP_EncryptInit_ex2(ctx, nullptr, enc_keyed_ ? nullptr : key, nonce.data(), nullptr) != 1) {
      return OpensslFailure(StatusCode::kInternal, "seal: cannot set key and nonce", "EVP_EncryptInit_ex2");
    }
    enc_keyed_ = true;
    uint8_t unused[EVP_MAX_BLOCK_LENGTH];
    int final_len = 0;
    if (!Update(ctx, nullptr, aad.data(), aad.size()) || !Update(ctx, out, in, len)) {
      return OpensslFailure(StatusCode::kInternal, "seal failed", "EVP_EncryptUpdate");
    }
    if (EVP_EncryptFinal_ex(ctx, unused, &final_len) != 1 || final_len != 0) {
      return OpensslFailure(StatusCode::kInternal, "seal failed", "EVP_EncryptFinal_ex");
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kLayerTagSize, tag) <= 0) {
      return OpensslFailure(StatusCode::kInternal, "seal: cannot read the tag", "EVP_CIPHER_CTX_ctrl");
    }
    return OkStatus();
  }

  // Writes len bytes of plaintext to out (which may equal in); the caller
  // wipes out on failure. A wrong tag gives AuthenticationFailedError.
  Status Open(const uint8_t* key, const AeadNonce& nonce, std::span<const uint8_t> aad,
              const uint8_t* in, size_t len, const uint8_t* tag, uint8_t* out) {
    EVP_CIPHER_CTX* ctx = dec_.get();
    if (EVP_DecryptInit_ex2(ctx, nullptr, dec_keyed_ ? nullptr : key, nonce.data(), nullptr) != 1) {
      return OpensslFailure(StatusCode::kInternal, "open: cannot set key and nonce", "EVP_DecryptInit_ex2");
    }
    dec_keyed_ = true;
    // OpenSSL copies the tag; the cast only satisfies the ctrl signature.
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kLayerTagSize, const_cast<uint8_t*>(tag)) <= 0) {
      return OpensslFailure(StatusCode::kInternal, "open: cannot set the tag", "EVP_CIPHER_CTX_ctrl");
    }
    if (!Update(ctx, nullptr, aad.data(), aad.size()) || !Update(ctx, out, in, len)) {
      return OpensslFailure(StatusCode::kInternal, "open failed", "EVP_DecryptUpdate");
    }
    uint8_t unused[EVP_MAX_BLOCK_LENGTH];
    int final_len = 0;
    if (EVP_DecryptFinal_ex(ctx, unused, &final_len) != 1 || final_len != 0) {
      ERR_clear_error();  // nothing about a forgery is worth reporting
      return AuthenticationFailedError();
    }
    return OkStatus();
  }

 private:
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
  };

  // Feeds aad (out == nullptr) or data through the context in int-sized pieces.
  static bool Update(EVP_CIPHER_CTX* ctx, uint8_t* out, const uint8_t* in, size_t len) {
    while (len > 0) {
      int n = static_cast<int>(std::min(len, kMaxUpdate));
      int written = 0;
      if (EVP_CipherUpdate(ctx, out, &written, in, n) != 1) return false;
      if (out != nullptr) {
        if (written != n) return false;
        out += n;
      }
      in += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }

  const EVP_CIPHER* cipher_;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> enc_;
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> dec_;
  bool enc_keyed_ = false;
  bool dec_keyed_ = false;
};

enum class Algorithm { kAesGcm, kChaChaPoly };

const EVP_CIPHER* CipherFor(const OpensslLibrary& lib, Algorithm algorithm) {
  return algorithm == Algorithm::kAesGcm ? lib.aes_256_gcm : lib.chacha20_poly1305;
}

struct SuiteSpec {
  uint16_t id;
  const char* name;
  // Layers in sealing order; layer i uses key bytes [32 i, 32 i + 32).
  size_t layer_count;
  std::array<Algorithm, 2> layers;
};

constexpr std::array<SuiteSpec, 3> kSuites = {{
    {kAes256GcmSuite, "aes-256-gcm", 1, {Algorithm::kAesGcm}},
    {kChaCha20Poly1305Suite, "chacha20-poly1305", 1, {Algorithm::kChaChaPoly}},
    {kCascadeSuite, "aes-256-gcm+chacha20-poly1305", 2, {Algorithm::kAesGcm, Algorithm::kChaChaPoly}},
}};

// One suite as a stack of EvpAead layers: a single layer for the plain
// suites, AES-GCM under ChaCha20-Poly1305 for the cascade. Sealing runs the
// layers in order, in place in `out` after the first; opening runs them in
// reverse, in place in `out` after the outermost.
class OpensslAead final : public AeadContext {
 public:
  OpensslAead(std::shared_ptr<const OpensslLibrary> lib, const SuiteSpec& spec)
      : lib_(std::move(lib)), name_(spec.name), key_(kLayerKeySize * spec.layer_count) {
    layers_.reserve(spec.layer_count);
    for (size_t i = 0; i < spec.layer_count; ++i) layers_.emplace_back(CipherFor(*lib_, spec.layers[i]));
  }
  ~OpensslAead() override = default;

  Status Init() {
    for (auto& layer : layers_) SES_RETURN_IF_ERROR(layer.Init());
    return OkStatus();
  }

  size_t TagLength() const override { return kLayerTagSize * layers_.size(); }

  Status SetKey(std::span<const uint8_t> key) override {
    for (auto& layer : layers_) layer.ForgetKey();
    if (key.size() != key_.size()) {
      internal::Cleanse(key_.data(), key_.size());
      has_key_ = false;
      return InvalidArgumentError(std::string(kPrefix) + name_ + " needs a " +
                                  std::to_string(key_.size()) + "-byte key, got " +
                                  std::to_string(key.size()) + " bytes");
    }
    std::memmove(key_.data(), key.data(), key.size());
    has_key_ = true;
    return OkStatus();
  }

  Status Seal(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
              std::span<uint8_t> out) override {
    if (out.size() < TagLength() || out.size() - TagLength() != in.size()) {
      return InvalidArgumentError(std::string(kPrefix) + "seal: output must be " +
                                  std::to_string(TagLength()) + " bytes longer than the input");
    }
    if (!has_key_) return FailedPreconditionError(std::string(kPrefix) + "seal before SetKey");
    const uint8_t* src = in.data();
    size_t len = in.size();
    for (size_t i = 0; i < layers_.size(); ++i) {
      Status s = layers_[i].Seal(key_.data() + i * kLayerKeySize, nonce, aad, src, len, out.data(),
                                 out.data() + len);
      if (!s.ok()) {
        internal::Cleanse(out.data(), out.size());
        return s;
      }
      src = out.data();
      len += kLayerTagSize;
    }
    return OkStatus();
  }

  Status Open(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
              std::span<uint8_t> out) override {
    if (in.size() < TagLength()) return AuthenticationFailedError();
    if (out.size() < in.size()) {
      return InvalidArgumentError(std::string(kPrefix) + "open: output must have room for the " +
                                  std::to_string(in.size()) + "-byte input");
    }
    if (!has_key_) return FailedPreconditionError(std::string(kPrefix) + "open before SetKey");
    const uint8_t* src = in.data();
    size_t len = in.size();
    // The outermost layer writes the most: everything but its own tag.
    const size_t written = in.size() - kLayerTagSize;
    for (size_t i = layers_.size(); i-- > 0;) {
      len -= kLayerTagSize;
      Status s = layers_[i].Open(key_.data() + i * kLayerKeySize, nonce, aad, src, len, src + len,
                                 out.data());
      if (!s.ok()) {
        internal::Cleanse(out.data(), written);
        return s;
      }
      src = out.data();
    }
    // Inner tags were left past the plaintext; the caller expects only plaintext.
    internal::Cleanse(out.data() + len, written - len);
    return OkStatus();
  }

 private:
  std::shared_ptr<const OpensslLibrary> lib_;  // keeps the ciphers alive
  const char* name_;
  std::vector<EvpAead> layers_;
  SecretBytes key_;  // sized once: SetKey copies, never reallocates
  bool has_key_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<OpensslCipher>> OpensslCipher::Create(const PluginConfig& config) {
  std::string properties;
  std::string config_file;
  bool has_config_file = false;
  for (const auto& [key, value] : config) {
    if (key == "properties") {
      properties = value;
    } else if (key == "config_file") {
      config_file = value;
      has_config_file = true;
    } else {
      return InvalidArgumentError(std::string(kPrefix) + "unknown config key '" + key + "'");
    }
  }
  if (has_config_file && config_file.empty()) {
    return InvalidArgumentError(std::string(kPrefix) + "config_file is empty");
  }

  // Start from a clean queue so errors below are ours.
  ERR_clear_error();
  auto lib = std::make_shared<OpensslLibrary>();
  lib->providers.reserve(2);
  lib->libctx = OSSL_LIB_CTX_new();
  if (lib->libctx == nullptr) {
    return OpensslFailure(StatusCode::kResourceExhausted, "cannot create a library context",
                          "OSSL_LIB_CTX_new");
  }
  if (has_config_file && OSSL_LIB_CTX_load_config(lib->libctx, config_file.c_str()) != 1) {
    return OpensslFailure(StatusCode::kInvalidArgument, "cannot load config_file '" + config_file + "'",
                          "OSSL_LIB_CTX_load_config");
  }
  // As the context's default query it also parses (and so validates) it;
  // an empty one leaves whatever default the config_file set.
  if (!properties.empty() && EVP_set_default_properties(lib->libctx, properties.c_str()) != 1) {
    return OpensslFailure(StatusCode::kInvalidArgument,
                          "properties '" + properties + "' are not a valid OpenSSL property query",
                          "EVP_set_default_properties");
  }
  // A provider the config_file already activated is reused, not loaded twice.
  if (RequiresFips(properties)) {
    SES_RETURN_IF_ERROR(LoadProvider(*lib, "fips", properties));
    SES_RETURN_IF_ERROR(LoadProvider(*lib, "base", properties));
  } else {
    SES_RETURN_IF_ERROR(LoadProvider(*lib, "default", properties));
  }
  SES_ASSIGN_OR_RETURN(lib->aes_256_gcm, FetchCipher(*lib, "AES-256-GCM", properties));
  SES_ASSIGN_OR_RETURN(lib->chacha20_poly1305, FetchCipher(*lib, "ChaCha20-Poly1305", properties));
  return std::unique_ptr<OpensslCipher>(new OpensslCipher(std::move(lib)));
}

std::vector<SuiteInfo> OpensslCipher::Suites() const {
  std::vector<SuiteInfo> suites;
  for (const auto& spec : kSuites) {
    auto n = static_cast<uint32_t>(spec.layer_count);
    suites.push_back({spec.id, spec.name, n * uint32_t{kLayerKeySize}, n * uint32_t{kLayerTagSize}});
  }
  return suites;
}

StatusOr<std::unique_ptr<AeadContext>> OpensslCipher::NewAead(uint16_t suite_id) {
  for (const auto& spec : kSuites) {
    if (spec.id != suite_id) continue;
    auto aead = std::make_unique<OpensslAead>(lib_, spec);
    SES_RETURN_IF_ERROR(aead->Init());
    return std::unique_ptr<AeadContext>(std::move(aead));
  }
  char id[8];
  std::snprintf(id, sizeof(id), "0x%04x", suite_id);
  return NotFoundError(std::string(kPrefix) + "no suite with id " + id);
}

}  // namespace ses::cipher_openssl
