// Client: Connect and the unary calls.
#include <openssl/crypto.h>

#include "client_impl.h"
#include "ses/client/channel.h"
#include "ses/engine.h"

namespace ses::client {

using internal::AsBytes;
using internal::SetBytes;
using internal::ToVector;
using internal::Wipe;

namespace internal {

void SetContext(google::protobuf::Map<std::string, std::string>* out, const EncryptionContext& context) {
  for (const auto& [k, v] : context) (*out)[k] = v;
}

}  // namespace internal

namespace {

// Copies a key out of a protobuf string into wiped memory and wipes the
// string, so no plain copy in a message outlives the call on this side.
SecretBytes TakeKey(std::string* field) {
  SecretBytes key(AsBytes(*field));
  Wipe(field);
  return key;
}

// The header of a message, or the uniform failure for bytes that are none.
StatusOr<size_t> HeaderLength(std::span<const uint8_t> message) {
  auto size = Engine::HeaderSize(message);
  if (!size.ok() || *size > message.size()) return AuthenticationFailedError();
  return *size;
}

StatusOr<BatchResults> ToResults(const google::protobuf::RepeatedPtrField<v1::BatchResult>& results, size_t expected) {
  if (static_cast<size_t>(results.size()) != expected) {
    return InternalError("server returned " + std::to_string(results.size()) + " results for " +
                         std::to_string(expected) + " items");
  }
  BatchResults out;
  out.reserve(expected);
  for (const auto& r : results) {
    if (r.has_error()) {
      int code = r.error().code();
      if (code <= 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) code = static_cast<int>(StatusCode::kUnknown);
      out.emplace_back(Status(static_cast<StatusCode>(code), r.error().message()));
    } else if (r.result_case() == v1::BatchResult::kData) {
      out.emplace_back(ToVector(r.data()));
    } else {
      out.emplace_back(InternalError("server sent an empty batch result"));
    }
  }
  return out;
}

}  // namespace

void Client::Impl::SetDeadline(grpc::ClientContext& cc) const {
  cc.set_deadline(std::chrono::system_clock::now() + options.timeout);
}

Status Client::Impl::Map(const grpc::Status& s) const { return FromGrpcStatus(s, options.server); }

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const ClientOptions& Client::options() const { return impl_->options; }

StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  SES_ASSIGN_OR_RETURN(auto channel, NewChannel(options));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->crypto = v1::Crypto::NewStub(channel);
  impl->diagnostics = v1::Diagnostics::NewStub(channel);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

StatusOr<std::vector<uint8_t>> Client::Encrypt(std::string_view keyring, const EncryptionContext& context,
                                               std::span<const uint8_t> plaintext) {
  v1::EncryptRequest req;
  req.set_keyring(std::string(keyring));
  internal::SetContext(req.mutable_context(), context);
  SetBytes(req.mutable_plaintext(), plaintext);
  v1::EncryptResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  grpc::Status s = impl_->crypto->Encrypt(&cc, req, &resp);
  Wipe(req.mutable_plaintext());
  SES_RETURN_IF_ERROR(impl_->Map(s));
  return ToVector(resp.ciphertext());
}

StatusOr<std::vector<uint8_t>> Client::Decrypt(std::span<const uint8_t> ciphertext,
                                               const EncryptionContext& context) {
  v1::DecryptRequest req;
  SetBytes(req.mutable_ciphertext(), ciphertext);
  internal::SetContext(req.mutable_context(), context);
  v1::DecryptResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  grpc::Status s = impl_->crypto->Decrypt(&cc, req, &resp);
  std::vector<uint8_t> plaintext = ToVector(resp.plaintext());
  Wipe(resp.mutable_plaintext());
  SES_RETURN_IF_ERROR(impl_->Map(s));
  return plaintext;
}

StatusOr<std::vector<uint8_t>> Client::ReEncrypt(std::span<const uint8_t> ciphertext,
                                                 const EncryptionContext& context, std::string_view keyring) {
  SES_ASSIGN_OR_RETURN(size_t header_size, HeaderLength(ciphertext));
  v1::ReEncryptRequest req;
  SetBytes(req.mutable_ciphertext(), ciphertext.first(header_size));
  internal::SetContext(req.mutable_context(), context);
  req.set_keyring(std::string(keyring));
  v1::ReEncryptResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  SES_RETURN_IF_ERROR(impl_->Map(impl_->crypto->ReEncrypt(&cc, req, &resp)));
  // The server rewrapped the header it was sent; the body follows unchanged.
  std::vector<uint8_t> out = ToVector(resp.ciphertext());
  out.insert(out.end(), ciphertext.begin() + static_cast<ptrdiff_t>(header_size), ciphertext.end());
  return out;
}

StatusOr<DataKeyGrant> Client::GenerateDataKey(std::string_view keyring, const EncryptionContext& context) {
  v1::GenerateDataKeyRequest req;
  req.set_keyring(std::string(keyring));
  internal::SetContext(req.mutable_context(), context);
  v1::GenerateDataKeyResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  grpc::Status s = impl_->crypto->GenerateDataKey(&cc, req, &resp);
  DataKeyGrant grant{TakeKey(resp.mutable_data_key()), ToVector(resp.encrypted_key())};
  SES_RETURN_IF_ERROR(impl_->Map(s));
  if (grant.data_key.empty() || grant.encrypted_key.empty()) {
    return InternalError("sesd at " + impl_->options.server + " sent an empty data key");
  }
  return grant;
}

StatusOr<SecretBytes> Client::DecryptDataKey(std::span<const uint8_t> encrypted_key,
                                             const EncryptionContext& context) {
  // Only the header is needed: a whole message need not travel.
  SES_ASSIGN_OR_RETURN(size_t header_size, HeaderLength(encrypted_key));
  v1::DecryptDataKeyRequest req;
  SetBytes(req.mutable_encrypted_key(), encrypted_key.first(header_size));
  internal::SetContext(req.mutable_context(), context);
  v1::DecryptDataKeyResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  grpc::Status s = impl_->crypto->DecryptDataKey(&cc, req, &resp);
  SecretBytes key = TakeKey(resp.mutable_data_key());
  SES_RETURN_IF_ERROR(impl_->Map(s));
  if (key.empty()) return InternalError("sesd at " + impl_->options.server + " sent an empty data key");
  return key;
}

StatusOr<BatchResults> Client::BatchEncrypt(std::string_view keyring, std::span<const BatchEncryptItem> items) {
  v1::BatchEncryptRequest req;
  req.set_keyring(std::string(keyring));
  req.mutable_items()->Reserve(static_cast<int>(items.size()));
  for (const auto& item : items) {
    auto* it = req.add_items();
    SetBytes(it->mutable_plaintext(), item.plaintext);
    internal::SetContext(it->mutable_context(), item.context);
  }
  v1::BatchEncryptResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  grpc::Status s = impl_->crypto->BatchEncrypt(&cc, req, &resp);
  for (auto& it : *req.mutable_items()) Wipe(it.mutable_plaintext());
  SES_RETURN_IF_ERROR(impl_->Map(s));
  return ToResults(resp.results(), items.size());
}

StatusOr<BatchResults> Client::BatchDecrypt(std::span<const BatchDecryptItem> items) {
  v1::BatchDecryptRequest req;
  req.mutable_items()->Reserve(static_cast<int>(items.size()));
  for (const auto& item : items) {
    auto* it = req.add_items();
    SetBytes(it->mutable_ciphertext(), item.ciphertext);
    internal::SetContext(it->mutable_context(), item.context);
  }
  v1::BatchDecryptResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  SES_RETURN_IF_ERROR(impl_->Map(impl_->crypto->BatchDecrypt(&cc, req, &resp)));
  auto results = ToResults(resp.results(), items.size());
  // The results are plaintext: wipe the message's copies (also when the
  // count was wrong and nothing was copied).
  for (auto& r : *resp.mutable_results()) {
    if (r.result_case() == v1::BatchResult::kData) Wipe(r.mutable_data());
  }
  return results;
}

StatusOr<std::vector<uint8_t>> Client::Echo(std::span<const uint8_t> payload) {
  v1::EchoRequest req;
  SetBytes(req.mutable_payload(), payload);
  v1::EchoResponse resp;
  grpc::ClientContext cc;
  impl_->SetDeadline(cc);
  SES_RETURN_IF_ERROR(impl_->Map(impl_->diagnostics->Echo(&cc, req, &resp)));
  return ToVector(resp.payload());
}

}  // namespace ses::client
