// Turns an ordinary C++ CipherProvider into an SES cipher plugin.
//
//   class MyCipher final : public ses::CipherProvider {
//    public:
//     static ses::StatusOr<std::unique_ptr<MyCipher>> Create(const ses::PluginConfig&);
//     ...
//   };
//   SES_CIPHER_PLUGIN("my-cipher", "1.0.0", MyCipher)
//
// Suite names are copied once at creation so suite_at returns stable pointers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ses/cipher.h"
#include "ses/plugin/abi.h"
#include "ses/plugin/abi_util.h"

namespace ses::abi {

template <typename C>
struct CipherAdapter {
  struct Instance {
    std::unique_ptr<C> impl;
    std::vector<SuiteInfo> suites;          // owns the names
    std::vector<ses_suite_info> c_suites;   // points into `suites`
  };
  static Instance* Self(void* self) { return static_cast<Instance*>(self); }
  static AeadContext* Aead(void* a) { return static_cast<AeadContext*>(a); }

  static void* Create(const ses_kv* kv, size_t n, ses_error* err) noexcept {
    Instance* result = nullptr;
    Guard(err, [&]() -> int32_t {
      auto made = C::Create(ConfigFromKv(kv, n));
      if (!made.ok()) return Fail(err, made.status());
      auto inst = std::make_unique<Instance>();
      inst->impl = std::move(made).value();
      inst->suites = inst->impl->Suites();
      for (const auto& s : inst->suites) {
        inst->c_suites.push_back({s.id, s.name.c_str(), s.key_len, s.tag_len});
      }
      result = inst.release();
      return SES_OK;
    });
    return result;
  }
  static void Destroy(void* self) noexcept { delete Self(self); }
  static size_t SuiteCount(void* self) noexcept { return Self(self)->c_suites.size(); }
  static const ses_suite_info* SuiteAt(void* self, size_t i) noexcept {
    auto& v = Self(self)->c_suites;
    return i < v.size() ? &v[i] : nullptr;
  }
  static void* AeadNew(void* self, uint16_t suite, ses_error* err) noexcept {
    AeadContext* result = nullptr;
    Guard(err, [&]() -> int32_t {
      auto made = Self(self)->impl->NewAead(suite);
      if (!made.ok()) return Fail(err, made.status());
      result = made.value().release();
      return SES_OK;
    });
    return result;
  }
  static void AeadFree(void* a) noexcept { delete Aead(a); }
  static int32_t SetKey(void* a, ses_bytes key, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      Status s = Aead(a)->SetKey(Span(key));
      return s.ok() ? SES_OK : Fail(err, s);
    });
  }
  static int32_t Seal(void* a, const uint8_t nonce[12], ses_bytes aad, ses_bytes in, uint8_t* out,
                      ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      AeadNonce n;
      std::memcpy(n.data(), nonce, n.size());
      Status s = Aead(a)->Seal(n, Span(aad), Span(in),
                               std::span<uint8_t>(out, in.len + Aead(a)->TagLength()));
      return s.ok() ? SES_OK : Fail(err, s);
    });
  }
  static int32_t Open(void* a, const uint8_t nonce[12], ses_bytes aad, ses_bytes in, uint8_t* out,
                      ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      AeadNonce n;
      std::memcpy(n.data(), nonce, n.size());
      Status s = Aead(a)->Open(n, Span(aad), Span(in), std::span<uint8_t>(out, in.len));
      return s.ok() ? SES_OK : Fail(err, s);
    });
  }
};

}  // namespace ses::abi

#define SES_CIPHER_PLUGIN(NAME, VERSION, CLASS)                                               \
  extern "C" __attribute__((visibility("default"))) const ses_plugin_info* ses_plugin_entry() { \
    using A = ::ses::abi::CipherAdapter<CLASS>;                                               \
    static const ses_cipher_v1 table = {sizeof(ses_cipher_v1), &A::Create,  &A::Destroy,      \
                                        &A::SuiteCount,        &A::SuiteAt, &A::AeadNew,      \
                                        &A::AeadFree,          &A::SetKey,  &A::Seal,         \
                                        &A::Open};                                            \
    static const ses_plugin_info info = {sizeof(ses_plugin_info),                             \
                                         SES_PLUGIN_ABI_MAJOR,                                \
                                         SES_PLUGIN_ABI_MINOR,                                \
                                         SES_PLUGIN_KIND_CIPHER,                              \
                                         NAME,                                                \
                                         VERSION,                                             \
                                         &table};                                             \
    return &info;                                                                             \
  }
