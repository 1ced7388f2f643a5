// Turns an ordinary C++ KeyProvider into an SES key-provider plugin.
//
//   class MyProvider final : public ses::KeyProvider {
//    public:
//     static constexpr const char* kUriSchemes = "my-kms";  // comma-separated
//     static ses::StatusOr<std::unique_ptr<MyProvider>> Create(const ses::PluginConfig&);
//     ...
//   };
//   SES_KEY_PROVIDER_PLUGIN("my-kms", "1.0.0", MyProvider)
//
// The macro defines the exported ses_plugin_entry and a static function table
// whose entries forward to the class, catching every exception.
#pragma once

#include <memory>
#include <string>

#include "ses/key_provider.h"
#include "ses/plugin/abi.h"
#include "ses/plugin/abi_util.h"

namespace ses::abi {

template <typename P>
struct KeyProviderAdapter {
  static P* Self(void* self) { return static_cast<P*>(self); }

  static void* Create(const ses_kv* kv, size_t n, ses_error* err) noexcept {
    void* result = nullptr;
    Guard(err, [&]() -> int32_t {
      auto made = P::Create(ConfigFromKv(kv, n));
      if (!made.ok()) return Fail(err, made.status());
      result = made.value().release();
      return SES_OK;
    });
    return result;
  }

  static void Destroy(void* self) noexcept { delete Self(self); }

  static int32_t Wrap(void* self, const char* uri, ses_bytes dk, ses_bytes aad, ses_out* wrapped,
                      ses_out* version, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      auto r = Self(self)->Wrap(uri, Span(dk), Span(aad));
      if (!r.ok()) return Fail(err, r.status());
      int32_t rc = WriteOut(wrapped, std::span<const uint8_t>(r->wrapped), err);
      int32_t rc2 = WriteOut(version, r->key_version, err);
      return rc != SES_OK ? rc : rc2;
    });
  }

  static int32_t Unwrap(void* self, const char* uri, const char* version, ses_bytes wrapped,
                        ses_bytes aad, ses_out* dk, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      auto r = Self(self)->Unwrap(uri, version, Span(wrapped), Span(aad));
      if (!r.ok()) return Fail(err, r.status());
      return WriteOut(dk, r->span(), err);
    });
  }

  static int32_t Generate(void* self, const char* uri, size_t key_len, ses_bytes aad, ses_out* dk,
                          ses_out* wrapped, ses_out* version, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      auto r = Self(self)->GenerateDataKey(uri, key_len, Span(aad));
      if (!r.ok()) return Fail(err, r.status());
      int32_t rc = WriteOut(dk, r->data_key.span(), err);
      int32_t rc2 = WriteOut(wrapped, std::span<const uint8_t>(r->wrapped.wrapped), err);
      int32_t rc3 = WriteOut(version, r->wrapped.key_version, err);
      return rc != SES_OK ? rc : (rc2 != SES_OK ? rc2 : rc3);
    });
  }

  static int32_t StringCall(ses_out* out, ses_error* err, StatusOr<std::string> r) {
    if (!r.ok()) return Fail(err, r.status());
    return WriteOut(out, *r, err);
  }

  static int32_t CreateKey(void* self, const char* uri, ses_out* created, ses_error* err) noexcept {
    return Guard(err, [&] { return StringCall(created, err, Self(self)->CreateKey(uri)); });
  }

  static int32_t RotateKey(void* self, const char* uri, ses_out* version, ses_error* err) noexcept {
    return Guard(err, [&] { return StringCall(version, err, Self(self)->RotateKey(uri)); });
  }

  static int32_t ListVersions(void* self, const char* uri, ses_out* out, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      auto r = Self(self)->ListVersions(uri);
      if (!r.ok()) return Fail(err, r.status());
      std::string joined;
      for (const auto& v : *r) joined += v + "\n";
      return WriteOut(out, joined, err);
    });
  }

  static int32_t Health(void* self, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      Status s = Self(self)->Health();
      return s.ok() ? SES_OK : Fail(err, s);
    });
  }
};

}  // namespace ses::abi

#define SES_KEY_PROVIDER_PLUGIN(NAME, VERSION, CLASS)                                        \
  extern "C" __attribute__((visibility("default"))) const ses_plugin_info* ses_plugin_entry() { \
    using A = ::ses::abi::KeyProviderAdapter<CLASS>;                                          \
    static const ses_key_provider_v1 table = {                                                \
        sizeof(ses_key_provider_v1), CLASS::kUriSchemes, &A::Create,       &A::Destroy,          \
        &A::Wrap,                    &A::Unwrap,      &A::Generate,     &A::CreateKey,        \
        &A::RotateKey,               &A::ListVersions, &A::Health};                           \
    static const ses_plugin_info info = {sizeof(ses_plugin_info),                             \
                                         SES_PLUGIN_ABI_MAJOR,                                \
                                         SES_PLUGIN_ABI_MINOR,                                \
                                         SES_PLUGIN_KIND_KEY_PROVIDER,                        \
                                         NAME,                                                \
                                         VERSION,                                             \
                                         &table};                                             \
    return &info;                                                                             \
  }
