// KeyProvider over a plugin's ses_key_provider_v1 table.
#include <cstring>
#include <sstream>

#include "plugin/host_call.h"
#include "plugin/host_wrappers.h"
#include "ses/plugin/abi_util.h"

namespace ses::internal {
namespace {

// Outputs of a plugin call start at these sizes and grow once, to what the
// plugin asks for, up to kMaxOut (a wrapped key or URI is never that large).
constexpr size_t kInitialOut = 1024;
constexpr size_t kMaxOut = 1 << 20;
constexpr size_t kOnceOut = 64 * 1024;

std::vector<std::string> SplitSchemes(const char* s) {
  std::vector<std::string> out;
  std::stringstream ss(s ? s : "");
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

class HostKeyProvider final : public KeyProvider {
 public:
  HostKeyProvider(LibraryRef lib, const ses_key_provider_v1* table, void* self)
      : lib_(std::move(lib)), t_(table), self_(self), name_(lib_->info->name) {}
  ~HostKeyProvider() override { t_->destroy(self_); }

  std::vector<std::string> UriSchemes() const override { return SplitSchemes(t_->uri_schemes); }

  StatusOr<WrappedKey> Wrap(std::string_view key_uri, std::span<const uint8_t> data_key,
                            std::span<const uint8_t> aad) override {
    std::string uri(key_uri);
    WrappedKey result;
    std::string version;
    Status s = CallWithOutputs(result.wrapped, version, [&](ses_out* a, ses_out* b, ses_error* e) {
      return t_->wrap(self_, uri.c_str(), abi::Bytes(data_key), abi::Bytes(aad), a, b, e);
    });
    if (!s.ok()) return s;
    result.key_version = std::move(version);
    return result;
  }

  StatusOr<SecretBytes> Unwrap(std::string_view key_uri, std::string_view key_version,
                               std::span<const uint8_t> wrapped,
                               std::span<const uint8_t> aad) override {
    std::string uri(key_uri), version(key_version);
    SecretBytes key(kInitialOut);
    for (int attempt = 0; attempt < 2; ++attempt) {
      ses_out out{key.data(), key.size(), 0};
      ses_error err = abi::NewError();
      int32_t rc = t_->unwrap(self_, uri.c_str(), version.c_str(), abi::Bytes(wrapped),
                              abi::Bytes(aad), &out, &err);
      if (rc == SES_OUT_OF_RANGE && attempt == 0 && out.len > key.size() && out.len <= kMaxOut) {
        key = SecretBytes(out.len);
        continue;
      }
      SES_RETURN_IF_ERROR(CheckOutputs(name_, rc, err, out.len > key.size()));
      key.resize(out.len);
      return key;
    }
    return KeptAskingError(name_);
  }

  StatusOr<GeneratedDataKey> GenerateDataKey(std::string_view key_uri, size_t key_len,
                                             std::span<const uint8_t> aad) override {
    if (t_->generate_data_key == nullptr) return Status(UnimplementedError(name_ + ": no data-key generation"));
    std::string uri(key_uri);
    GeneratedDataKey result;
    result.data_key = SecretBytes(key_len);
    std::string version;
    Status s = CallWithOutputs(result.wrapped.wrapped, version, [&](ses_out* w, ses_out* v, ses_error* e) {
      ses_out dk{result.data_key.data(), key_len, 0};
      int32_t rc = t_->generate_data_key(self_, uri.c_str(), key_len, abi::Bytes(aad), &dk, w, v, e);
      if (rc == SES_OK && dk.len != key_len) {
        abi::SetError(e, InternalError(name_ + ": plugin returned a data key of the wrong size"));
        return int32_t{SES_INTERNAL};
      }
      return rc;
    });
    if (!s.ok()) return s;
    result.wrapped.key_version = std::move(version);
    return result;
  }

  // Creating and rotating change state, so they must not run twice: they get
  // one generous buffer instead of the grow-and-retry of the other calls.
  StatusOr<std::string> CreateKey(std::string_view key_uri) override {
    return StringCall(t_->create_key, key_uri, "key creation", kOnceOut);
  }
  StatusOr<std::string> RotateKey(std::string_view key_uri) override {
    return StringCall(t_->rotate_key, key_uri, "key rotation", kOnceOut);
  }
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override {
    SES_ASSIGN_OR_RETURN(std::string joined, StringCall(t_->list_versions, key_uri, "version listing"));
    std::vector<std::string> out;
    std::stringstream ss(joined);
    std::string line;
    while (std::getline(ss, line)) {
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }

  Status Health() override { return CallHealth(name_, t_->health, self_); }

 private:
  using StringFn = int32_t (*)(void*, const char*, ses_out*, ses_error*);

  // `once_size` > 0: a single call with that much room (not idempotent).
  StatusOr<std::string> StringCall(StringFn fn, std::string_view key_uri, const char* what, size_t once_size = 0) {
    if (fn == nullptr) return Status(UnimplementedError(name_ + ": plugin does not support " + what));
    std::string uri(key_uri);
    std::vector<uint8_t> buf(once_size > 0 ? once_size : kInitialOut);
    for (int attempt = 0; attempt < (once_size > 0 ? 1 : 2); ++attempt) {
      ses_out out{buf.data(), buf.size(), 0};
      ses_error err = abi::NewError();
      int32_t rc = fn(self_, uri.c_str(), &out, &err);
      if (rc == SES_OUT_OF_RANGE && attempt == 0 && out.len > buf.size() && out.len <= kMaxOut) {
        buf.resize(out.len);
        continue;
      }
      SES_RETURN_IF_ERROR(CheckOutputs(name_, rc, err, out.len > buf.size()));
      return std::string(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(out.len));
    }
    return KeptAskingError(name_);
  }

  // Runs a call with two byte outputs, growing them once if the plugin asks.
  template <typename F>
  Status CallWithOutputs(std::vector<uint8_t>& a, std::string& b, F&& call) {
    a.assign(kInitialOut, 0);
    b.assign(256, '\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
      ses_out oa{a.data(), a.size(), 0};
      ses_out ob{reinterpret_cast<uint8_t*>(b.data()), b.size(), 0};
      ses_error err = abi::NewError();
      int32_t rc = call(&oa, &ob, &err);
      if (rc == SES_OUT_OF_RANGE && attempt == 0 && oa.len <= kMaxOut && ob.len <= kMaxOut) {
        if (oa.len > a.size()) a.resize(oa.len);
        if (ob.len > b.size()) b.resize(ob.len);
        continue;
      }
      SES_RETURN_IF_ERROR(CheckOutputs(name_, rc, err, oa.len > a.size() || ob.len > b.size()));
      a.resize(oa.len);
      b.resize(ob.len);
      return OkStatus();
    }
    return KeptAskingError(name_);
  }

  LibraryRef lib_;
  const ses_key_provider_v1* t_;
  void* self_;
  std::string name_;
};

}  // namespace

StatusOr<void*> CreateInstance(const LibraryRef& lib, CreateFn create, const PluginConfig& config) {
  std::vector<ses_kv> kv;
  for (const auto& [k, v] : config) kv.push_back({k.c_str(), v.c_str()});
  ses_error err = abi::NewError();
  void* self = create(kv.data(), kv.size(), &err);
  if (self == nullptr) {
    return abi::ToStatus(err.code == SES_OK ? SES_INTERNAL : err.code, err)
        .WithContext("plugin " + lib->path + ": initialisation failed");
  }
  return self;
}

StatusOr<std::shared_ptr<KeyProvider>> NewHostKeyProvider(LibraryRef lib, const PluginConfig& config) {
  auto* table = static_cast<const ses_key_provider_v1*>(lib->info->table);
  SES_ASSIGN_OR_RETURN(void* self, CreateInstance(lib, table->create, config));
  return std::shared_ptr<KeyProvider>(std::make_shared<HostKeyProvider>(lib, table, self));
}

}  // namespace ses::internal
