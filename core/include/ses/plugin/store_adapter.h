// Turns an ordinary C++ Store into an SES store plugin.
//
//   class MyStore final : public ses::Store {
//    public:
//     static ses::StatusOr<std::unique_ptr<MyStore>> Create(const ses::PluginConfig&);
//     ...
//   };
//   SES_STORE_PLUGIN("my-store", "1.0.0", MyStore)
//
// The macro defines the exported ses_plugin_entry and a static ses_store_v1
// whose entries forward to the class, catching every exception.
//
// get and list may be repeated by the host with a larger buffer (they only
// read). put and remove are called once and write no variable-size output, so
// a write is never applied twice by the buffer protocol.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ses/key_provider.h"  // PluginConfig
#include "ses/plugin/abi.h"
#include "ses/plugin/abi_util.h"
#include "ses/store.h"

namespace ses::abi {

template <typename S>
struct StoreAdapter {
  static S* Self(void* self) { return static_cast<S*>(self); }
  static std::string_view View(ses_bytes b) {
    return {reinterpret_cast<const char*>(b.data), b.len};
  }

  static void* Create(const ses_kv* kv, size_t n, ses_error* err) noexcept {
    void* result = nullptr;
    Guard(err, [&]() -> int32_t {
      auto made = S::Create(ConfigFromKv(kv, n));
      if (!made.ok()) return Fail(err, made.status());
      result = made.value().release();
      return SES_OK;
    });
    return result;
  }

  static void Destroy(void* self) noexcept { delete Self(self); }

  static int32_t Get(void* self, const char* ns, const char* key, ses_out* value, uint64_t* version,
                     ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      if (version == nullptr) return Fail(err, InternalError("missing version output"));
      auto r = Self(self)->Get(ns, key);
      if (!r.ok()) return Fail(err, r.status());
      int32_t rc = WriteOut(value, r->value, err);
      if (rc == SES_OK) *version = r->version;
      return rc;
    });
  }

  static int32_t Put(void* self, const char* ns, const char* key, ses_bytes value,
                     uint64_t expected_version, uint64_t* new_version, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      if (new_version == nullptr) return Fail(err, InternalError("missing version output"));
      auto r = Self(self)->Put(ns, key, View(value), expected_version);
      if (!r.ok()) return Fail(err, r.status());
      *new_version = *r;
      return SES_OK;
    });
  }

  static int32_t Remove(void* self, const char* ns, const char* key, ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      Status s = Self(self)->Remove(ns, key);
      return s.ok() ? SES_OK : Fail(err, s);
    });
  }

  static int32_t List(void* self, const char* ns, const char* prefix, ses_out* keys,
                      ses_error* err) noexcept {
    return Guard(err, [&]() -> int32_t {
      auto r = Self(self)->List(ns, prefix);
      if (!r.ok()) return Fail(err, r.status());
      std::string joined;
      for (const auto& k : *r) {
        // One key per line: a key with a newline would split in two.
        if (k.find('\n') != std::string::npos) {
          return Fail(err, InternalError("store listed a key containing a newline"));
        }
        joined += k;
        joined += '\n';
      }
      return WriteOut(keys, joined, err);
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

#define SES_STORE_PLUGIN(NAME, VERSION, CLASS)                                                   \
  extern "C" __attribute__((visibility("default"))) const ses_plugin_info* ses_plugin_entry() { \
    using A = ::ses::abi::StoreAdapter<CLASS>;                                                  \
    static const ses_store_v1 table = {sizeof(ses_store_v1), &A::Create, &A::Destroy, &A::Get,  \
                                       &A::Put,              &A::Remove, &A::List,    &A::Health}; \
    static const ses_plugin_info info = {sizeof(ses_plugin_info),                               \
                                         SES_PLUGIN_ABI_MAJOR,                                  \
                                         SES_PLUGIN_ABI_MINOR,                                  \
                                         SES_PLUGIN_KIND_STORE,                                 \
                                         NAME,                                                  \
                                         VERSION,                                               \
                                         &table};                                               \
    return &info;                                                                               \
  }
