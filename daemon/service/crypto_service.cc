#include "service/crypto_service.h"

#include <functional>
#include <utility>
#include <vector>

#include "server/status_map.h"
#include "service/request_util.h"
#include "service/stream_reactors.h"

namespace ses::daemon {
namespace {

// Finishes a unary call, reports it, and wipes the request and response
// fields that held plaintext or key bytes once gRPC has sent the response
// (gRPC frees the messages only after OnDone).
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(CallObserver& observer, grpc::CallbackServerContext* ctx, std::string_view method)
      : observer_(observer), ctx_(ctx), start_(Clock::now()) {
    record_.method = method;
    observer_.OnCallStarted();
  }

  void set_keyring(std::string_view keyring) { record_.keyring = keyring; }
  void set_items(size_t ok, size_t failed) {
    record_.items_ok = ok;
    record_.items_failed = failed;
  }
  // Runs after the response is sent, before the messages are freed.
  void WipeOnDone(std::function<void()> wipe) { wipe_ = std::move(wipe); }

  void Done(const Status& status, size_t bytes_in, size_t bytes_out) {
    status_ = status;
    record_.status = &status_;
    record_.bytes_in = bytes_in;
    record_.bytes_out = bytes_out;
    record_.duration = Clock::now() - start_;
    if (!status.ok()) record_.peer = ctx_->peer();  // for the failure log line only
    observer_.OnCall(record_);
    Finish(ToGrpc(status));
  }

  void OnDone() override {
    if (wipe_) wipe_();
    delete this;
  }

 private:
  CallObserver& observer_;
  grpc::CallbackServerContext* ctx_;
  Clock::time_point start_;
  CallRecord record_;
  Status status_;
  std::function<void()> wipe_;
};

// Ciphertexts may exceed the plaintext limit by their header and tags.
size_t CiphertextLimit(size_t max_message_bytes) { return max_message_bytes + (1u << 20); }

// The engine writes into a reused per-thread buffer; copying out of it keeps
// the hot path free of per-call vector allocations.
std::vector<uint8_t>& ThreadBuffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

void SetBytes(std::string* field, const std::vector<uint8_t>& bytes) {
  field->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Copies plaintext out of the thread buffer and wipes the buffer.
void MovePlaintext(std::string* field, std::vector<uint8_t>& plaintext) {
  SetBytes(field, plaintext);
  internal::Cleanse(plaintext.data(), plaintext.size());
  plaintext.clear();
}

ses::v1::ItemError* ItemErrorFor(const Status& status, ses::v1::ItemError* error) {
  error->set_code(static_cast<int32_t>(status.code()));
  error->set_message(status.message());
  return error;
}

}  // namespace

CryptoService::CryptoService(Engine& engine, ServiceLimits limits, CallObserver& observer)
    : engine_(engine), limits_(limits), observer_(observer) {}

grpc::ServerUnaryReactor* CryptoService::Encrypt(grpc::CallbackServerContext* ctx, const v1::EncryptRequest* req,
                                                 v1::EncryptResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "Encrypt");
  call->set_keyring(req->keyring());
  call->WipeOnDone([req] { Wipe(req->plaintext()); });
  Status status;
  if (req->plaintext().size() > limits_.max_message_bytes) {
    status = TooLarge("plaintext", req->plaintext().size(), limits_.max_message_bytes, "EncryptStream");
  } else {
    std::vector<uint8_t>& out = ThreadBuffer();
    status = engine_.EncryptTo(req->keyring(), ToContext(req->context()), AsBytes(req->plaintext()), out);
    if (status.ok()) SetBytes(resp->mutable_ciphertext(), out);
  }
  call->Done(status, req->plaintext().size(), resp->ciphertext().size());
  return call;
}

grpc::ServerUnaryReactor* CryptoService::Decrypt(grpc::CallbackServerContext* ctx, const v1::DecryptRequest* req,
                                                 v1::DecryptResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "Decrypt");
  call->WipeOnDone([resp] { Wipe(resp->plaintext()); });
  Status status;
  if (req->ciphertext().size() > CiphertextLimit(limits_.max_message_bytes)) {
    status = TooLarge("ciphertext", req->ciphertext().size(), CiphertextLimit(limits_.max_message_bytes),
                      "DecryptStream");
  } else {
    std::vector<uint8_t>& out = ThreadBuffer();
    status = engine_.DecryptTo(AsBytes(req->ciphertext()), ToContext(req->context()), out);
    if (status.ok()) MovePlaintext(resp->mutable_plaintext(), out);
  }
  call->Done(status, req->ciphertext().size(), resp->plaintext().size());
  return call;
}

grpc::ServerUnaryReactor* CryptoService::ReEncrypt(grpc::CallbackServerContext* ctx,
                                                   const v1::ReEncryptRequest* req, v1::ReEncryptResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "ReEncrypt");
  call->set_keyring(req->keyring());
  Status status;
  const auto ciphertext = AsBytes(req->ciphertext());
  if (ciphertext.size() > CiphertextLimit(limits_.max_message_bytes)) {
    status = TooLarge("ciphertext", ciphertext.size(), CiphertextLimit(limits_.max_message_bytes),
                      "DecryptStream then EncryptStream");
  } else {
    // The caller must know the context, as for Decrypt: the header is
    // authenticated and its context compared, with Decrypt's errors.
    auto key = engine_.DecryptDataKey(ciphertext, ToContext(req->context()));
    if (!key.ok()) {
      status = key.status();
    } else {
      auto rewrapped = engine_.ReEncrypt(ciphertext, req->keyring());
      status = rewrapped.status();
      if (status.ok()) SetBytes(resp->mutable_ciphertext(), *rewrapped);
    }
  }
  call->Done(status, ciphertext.size(), resp->ciphertext().size());
  return call;
}

grpc::ServerUnaryReactor* CryptoService::GenerateDataKey(grpc::CallbackServerContext* ctx,
                                                         const v1::GenerateDataKeyRequest* req,
                                                         v1::GenerateDataKeyResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "GenerateDataKey");
  call->set_keyring(req->keyring());
  call->WipeOnDone([resp] { Wipe(resp->data_key()); });
  auto grant = engine_.GenerateDataKey(req->keyring(), ToContext(req->context()));
  Status status = grant.status();
  if (status.ok()) {
    resp->set_data_key(reinterpret_cast<const char*>(grant->data_key.data()), grant->data_key.size());
    SetBytes(resp->mutable_encrypted_key(), grant->encrypted_key);
  }
  call->Done(status, 0, resp->encrypted_key().size());
  return call;
}

grpc::ServerUnaryReactor* CryptoService::DecryptDataKey(grpc::CallbackServerContext* ctx,
                                                        const v1::DecryptDataKeyRequest* req,
                                                        v1::DecryptDataKeyResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "DecryptDataKey");
  call->WipeOnDone([resp] { Wipe(resp->data_key()); });
  Status status;
  if (req->encrypted_key().size() > CiphertextLimit(limits_.max_message_bytes)) {
    status = TooLarge("encrypted_key", req->encrypted_key().size(), CiphertextLimit(limits_.max_message_bytes),
                      "only the message header");
  } else {
    auto key = engine_.DecryptDataKey(AsBytes(req->encrypted_key()), ToContext(req->context()));
    status = key.status();
    if (status.ok()) resp->set_data_key(reinterpret_cast<const char*>(key->data()), key->size());
  }
  call->Done(status, req->encrypted_key().size(), 0);
  return call;
}

grpc::ServerUnaryReactor* CryptoService::BatchEncrypt(grpc::CallbackServerContext* ctx,
                                                      const v1::BatchEncryptRequest* req,
                                                      v1::BatchEncryptResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "BatchEncrypt");
  call->set_keyring(req->keyring());
  call->WipeOnDone([req] {
    for (const auto& item : req->items()) Wipe(item.plaintext());
  });
  Status status;
  size_t ok = 0, failed = 0, bytes_in = 0, bytes_out = 0;
  if (static_cast<size_t>(req->items_size()) > limits_.max_batch_items) {
    status = Status(StatusCode::kResourceExhausted,
                    "batch has " + std::to_string(req->items_size()) + " items; at most " +
                        std::to_string(limits_.max_batch_items) + " (server.max_batch_items): split it");
  } else {
    std::vector<uint8_t>& out = ThreadBuffer();
    resp->mutable_results()->Reserve(req->items_size());
    for (int i = 0; i < req->items_size() && status.ok(); ++i) {
      if ((i & 63) == 63) status = CallAlive(*ctx);
      const auto& item = req->items(i);
      bytes_in += item.plaintext().size();
      Status item_status;
      if (item.plaintext().size() > limits_.max_message_bytes) {
        item_status = TooLarge("plaintext", item.plaintext().size(), limits_.max_message_bytes, "EncryptStream");
      } else {
        item_status = engine_.EncryptTo(req->keyring(), ToContext(item.context()), AsBytes(item.plaintext()), out);
      }
      auto* result = resp->add_results();
      if (item_status.ok()) {
        SetBytes(result->mutable_data(), out);
        bytes_out += out.size();
        ++ok;
      } else {
        ItemErrorFor(item_status, result->mutable_error());
        ++failed;
      }
    }
  }
  if (!status.ok()) resp->Clear();
  call->set_items(ok, failed);
  call->Done(status, bytes_in, bytes_out);
  return call;
}

grpc::ServerUnaryReactor* CryptoService::BatchDecrypt(grpc::CallbackServerContext* ctx,
                                                      const v1::BatchDecryptRequest* req,
                                                      v1::BatchDecryptResponse* resp) {
  auto* call = new UnaryCall(observer_, ctx, "BatchDecrypt");
  call->WipeOnDone([resp] {
    for (const auto& result : resp->results()) Wipe(result.data());
  });
  Status status;
  size_t ok = 0, failed = 0, bytes_in = 0, bytes_out = 0;
  if (static_cast<size_t>(req->items_size()) > limits_.max_batch_items) {
    status = Status(StatusCode::kResourceExhausted,
                    "batch has " + std::to_string(req->items_size()) + " items; at most " +
                        std::to_string(limits_.max_batch_items) + " (server.max_batch_items): split it");
  } else {
    std::vector<uint8_t>& out = ThreadBuffer();
    resp->mutable_results()->Reserve(req->items_size());
    for (int i = 0; i < req->items_size() && status.ok(); ++i) {
      if ((i & 63) == 63) status = CallAlive(*ctx);
      const auto& item = req->items(i);
      bytes_in += item.ciphertext().size();
      Status item_status = engine_.DecryptTo(AsBytes(item.ciphertext()), ToContext(item.context()), out);
      auto* result = resp->add_results();
      if (item_status.ok()) {
        bytes_out += out.size();
        MovePlaintext(result->mutable_data(), out);
        ++ok;
      } else {
        ItemErrorFor(item_status, result->mutable_error());
        ++failed;
      }
    }
  }
  if (!status.ok()) {
    for (const auto& result : resp->results()) Wipe(result.data());
    resp->Clear();
  }
  call->set_items(ok, failed);
  call->Done(status, bytes_in, bytes_out);
  return call;
}

grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* CryptoService::EncryptStream(
    grpc::CallbackServerContext* ctx) {
  return NewEncryptStreamReactor(ctx, engine_, limits_, observer_);
}

grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* CryptoService::DecryptStream(
    grpc::CallbackServerContext* ctx) {
  return NewDecryptStreamReactor(ctx, engine_, limits_, observer_);
}

}  // namespace ses::daemon
