// Client's private state and the small conversions its calls share.
//
// Thread safety: Impl is immutable after Connect; stubs are thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>

#include <openssl/crypto.h>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "ses/client/client.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::client {

struct Client::Impl {
  ClientOptions options;
  std::unique_ptr<v1::Crypto::Stub> crypto;
  std::unique_ptr<v1::Diagnostics::Stub> diagnostics;

  // A context with the per-call deadline.
  void SetDeadline(grpc::ClientContext& cc) const;
  Status Map(const grpc::Status& s) const;
};

namespace internal {

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::vector<uint8_t> ToVector(const std::string& s) { return {s.begin(), s.end()}; }
inline void SetBytes(std::string* field, std::span<const uint8_t> b) {
  field->assign(reinterpret_cast<const char*>(b.data()), b.size());
}
void SetContext(google::protobuf::Map<std::string, std::string>* out, const EncryptionContext& context);
// Overwrites a message field that held a key or plaintext, then empties it.
inline void Wipe(std::string* field) {
  OPENSSL_cleanse(field->data(), field->size());
  field->clear();
}

}  // namespace internal
}  // namespace ses::client
