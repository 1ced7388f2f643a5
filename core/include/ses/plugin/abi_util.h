// Helpers shared by the plugin-side adapters and the host-side wrappers for
// moving Status, buffers and configuration across the C ABI.
// Header-only; no exceptions escape these functions.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ses/key_provider.h"
#include "ses/plugin/abi.h"
#include "ses/status.h"

namespace ses::abi {

inline void SetError(ses_error* err, const Status& s) {
  if (err == nullptr) return;
  err->code = static_cast<int32_t>(s.code());
  const std::string& m = s.message();
  size_t n = m.size() < SES_ERROR_MESSAGE_MAX - 1 ? m.size() : SES_ERROR_MESSAGE_MAX - 1;
  std::memcpy(err->message, m.data(), n);
  err->message[n] = '\0';
}

inline int32_t Fail(ses_error* err, const Status& s) {
  SetError(err, s);
  return static_cast<int32_t>(s.code());
}

inline Status ToStatus(int32_t rc, const ses_error& err) {
  if (rc == SES_OK) return OkStatus();
  // Codes outside the known range become INTERNAL rather than trusted.
  StatusCode code = (rc > 0 && rc <= 16) ? static_cast<StatusCode>(rc) : StatusCode::kInternal;
  std::string msg(err.message, strnlen(err.message, SES_ERROR_MESSAGE_MAX));
  if (msg.empty()) msg = "plugin returned an error without a message";
  return Status(code, std::move(msg));
}

inline ses_error NewError() {
  ses_error e;
  e.code = SES_OK;
  e.message[0] = '\0';
  return e;
}

// Writes bytes into a caller-owned ses_out, or reports the size needed.
inline int32_t WriteOut(ses_out* out, std::span<const uint8_t> bytes, ses_error* err) {
  if (out == nullptr) return Fail(err, InternalError("missing output buffer"));
  if (out->cap < bytes.size()) {
    out->len = bytes.size();
    return Fail(err, OutOfRangeError("output buffer too small"));
  }
  if (!bytes.empty()) std::memcpy(out->data, bytes.data(), bytes.size());
  out->len = bytes.size();
  return SES_OK;
}

inline int32_t WriteOut(ses_out* out, std::string_view s, ses_error* err) {
  return WriteOut(out, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), err);
}

inline std::span<const uint8_t> Span(ses_bytes b) {
  return {b.data, b.len};
}

inline ses_bytes Bytes(std::span<const uint8_t> s) {
  return ses_bytes{s.data(), s.size()};
}

inline PluginConfig ConfigFromKv(const ses_kv* kv, size_t n) {
  PluginConfig cfg;
  for (size_t i = 0; i < n; ++i) cfg[kv[i].key] = kv[i].value;
  return cfg;
}

// Runs `body` (which returns int32_t) and turns any escaping exception into
// SES_INTERNAL: exceptions must never cross the C ABI.
template <typename F>
int32_t Guard(ses_error* err, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(err, ResourceExhaustedError("out of memory"));
  } catch (const std::exception& e) {
    return Fail(err, InternalError(std::string("plugin raised: ") + e.what()));
  } catch (...) {
    return Fail(err, InternalError("plugin raised an unknown exception"));
  }
}

}  // namespace ses::abi
