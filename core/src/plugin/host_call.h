// What the host wrappers of plugin tables (host_key_provider.cc,
// host_store.cc) share around one call into a plugin: the Status a failed
// call becomes, the optional health entry, and the checks after a call that
// wrote into caller-owned ses_out buffers. How each wrapper sizes and retries
// its buffers stays with the wrapper: the policies differ on purpose.
//
// Thread safety: stateless; safe wherever the plugin call itself is.
#pragma once

#include <cstdint>
#include <string>

#include "ses/plugin/abi.h"
#include "ses/plugin/abi_util.h"
#include "ses/status.h"

namespace ses::internal {

// A failed call's code and message, prefixed with the plugin's name unless
// the plugin already put it first (plugins usually do).
inline Status PluginError(const std::string& plugin, int32_t rc, const ses_error& err) {
  Status s = abi::ToStatus(rc, err);
  if (s.message().rfind(plugin, 0) == 0) return s;
  return s.WithContext(plugin);
}

// The table's optional health entry: a plugin without one is healthy.
inline Status CallHealth(const std::string& plugin, int32_t (*health)(void*, ses_error*), void* self) {
  if (health == nullptr) return OkStatus();
  ses_error err = abi::NewError();
  int32_t rc = health(self, &err);
  return rc == SES_OK ? OkStatus() : PluginError(plugin, rc, err);
}

// After a call that wrote into ses_out buffers (and did not ask for more
// room): the plugin's error, or an internal error when it claims to have
// written past a buffer (`overran`: some out.len > the room given). OK means
// the caller may keep out.len bytes of each buffer.
inline Status CheckOutputs(const std::string& plugin, int32_t rc, const ses_error& err, bool overran) {
  if (rc != SES_OK) return PluginError(plugin, rc, err);
  if (overran) return InternalError(plugin + ": plugin overran its output buffer");
  return OkStatus();
}

// A plugin that still asks for a larger buffer when no retry is left.
inline Status KeptAskingError(const std::string& plugin) {
  return InternalError(plugin + ": plugin kept asking for a larger buffer");
}

}  // namespace ses::internal
