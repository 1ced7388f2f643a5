// Small conversions shared by the unary and stream handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include <google/protobuf/map.h>
#include <grpcpp/server_context.h>

#include "envelope/format.h"
#include "ses/envelope.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::daemon {

using Clock = std::chrono::steady_clock;

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A request's context within the format's caps (docs/format.md §3.4), checked
// before it is copied: no request context can be bigger than a sealed one.
inline Status CheckContext(const google::protobuf::Map<std::string, std::string>& map) {
  if (map.size() > internal::kMaxContextEntries) {
    return Status(StatusCode::kInvalidArgument, "encryption context has " + std::to_string(map.size()) +
                                                    " entries; at most " +
                                                    std::to_string(internal::kMaxContextEntries));
  }
  size_t bytes = 0;
  for (const auto& [k, v] : map) bytes += k.size() + v.size();
  if (bytes > internal::kMaxContextBytes) {
    return Status(StatusCode::kInvalidArgument, "encryption context holds " + std::to_string(bytes) +
                                                    " bytes; at most " + std::to_string(internal::kMaxContextBytes));
  }
  return Status();
}

inline StatusOr<EncryptionContext> ToContext(const google::protobuf::Map<std::string, std::string>& map) {
  if (Status s = CheckContext(map); !s.ok()) return s;
  return EncryptionContext(map.begin(), map.end());
}

// Wipes a string that held plaintext or key bytes before it is freed. An
// empty string may be protobuf's shared default instance: never written.
inline void Wipe(std::string& s) {
  if (s.empty()) return;
  internal::Cleanse(s.data(), s.size());
  s.clear();
}
inline void Wipe(const std::string& s) { Wipe(const_cast<std::string&>(s)); }

inline Status TooLarge(std::string_view what, size_t size, size_t limit, std::string_view instead) {
  return Status(StatusCode::kResourceExhausted,
                std::string(what) + " is " + std::to_string(size) + " bytes; unary calls take at most " +
                    std::to_string(limit) + " (server.max_message_bytes): use " + std::string(instead));
}

// Whether a call should stop: the client went away, its deadline passed, or
// (for calls without one) the server's default deadline, counted from `start`.
inline Status CallAlive(const grpc::CallbackServerContext& ctx, Clock::time_point start,
                        std::chrono::milliseconds default_deadline) {
  if (ctx.IsCancelled()) return Status(StatusCode::kCancelled, "the call was cancelled");
  if (ctx.deadline() < std::chrono::system_clock::now()) {
    return Status(StatusCode::kDeadlineExceeded, "the call's deadline passed");
  }
  if (default_deadline.count() > 0 && ctx.raw_deadline().tv_sec == std::numeric_limits<int64_t>::max() &&  // no deadline
      
      Clock::now() - start > default_deadline) {
    return Status(StatusCode::kDeadlineExceeded, "the call ran past the server's default deadline "
                                                 "(server.default_deadline_ms)");
  }
  return Status();
}

// Calls that seal name their keyring; an empty name is a malformed request,
// not an unknown keyring.
inline Status RequireKeyring(std::string_view keyring) {
  if (keyring.empty()) return Status(StatusCode::kInvalidArgument, "keyring is required");
  return Status();
}

inline Status Overloaded() {
  return Status(StatusCode::kResourceExhausted, "server overloaded: too much work queued; retry with backoff");
}

}  // namespace ses::daemon
