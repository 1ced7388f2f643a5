// Small conversions shared by the unary and stream handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <google/protobuf/map.h>
#include <grpcpp/server_context.h>

#include "ses/envelope.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::daemon {

using Clock = std::chrono::steady_clock;

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline EncryptionContext ToContext(const google::protobuf::Map<std::string, std::string>& map) {
  return EncryptionContext(map.begin(), map.end());
}

// Wipes a string that held plaintext or key bytes before it is freed.
inline void Wipe(std::string& s) {
  internal::Cleanse(s.data(), s.size());
  s.clear();
}
inline void Wipe(const std::string& s) { Wipe(const_cast<std::string&>(s)); }

inline Status TooLarge(std::string_view what, size_t size, size_t limit, std::string_view instead) {
  return Status(StatusCode::kResourceExhausted,
                std::string(what) + " is " + std::to_string(size) + " bytes; unary calls take at most " +
                    std::to_string(limit) + " (server.max_message_bytes): use " + std::string(instead));
}

// Whether a call should stop: the client went away or its deadline passed.
inline Status CallAlive(const grpc::CallbackServerContext& ctx) {
  if (ctx.IsCancelled()) return Status(StatusCode::kCancelled, "the call was cancelled");
  if (ctx.deadline() < std::chrono::system_clock::now()) {
    return Status(StatusCode::kDeadlineExceeded, "the call's deadline passed");
  }
  return Status();
}

}  // namespace ses::daemon
