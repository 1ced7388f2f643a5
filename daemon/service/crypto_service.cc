#include "service/crypto_service.h"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <grpcpp/support/proto_buffer_writer.h>

#include "server/status_map.h"
#include "service/request_util.h"
#include "service/stream_reactors.h"
#include "service/wire_scan.h"

namespace ses::daemon {
namespace {

using WireBytes = std::vector<uint8_t, internal::ZeroisingAllocator<uint8_t>>;

// Times a call, reports it to the observer, and finishes it on gRPC's
// default reactor (the messages are the handler's own, so nothing is left
// to do once gRPC has sent the response).
class Call {
 public:
  Call(CallObserver& observer, grpc::CallbackServerContext* ctx, std::string_view method)
      : observer_(observer), ctx_(ctx), reactor_(ctx->DefaultReactor()), start_(Clock::now()) {
    record_.method = method;
    observer_.OnCallStarted();
  }

  void set_keyring(std::string_view keyring) { keyring_ = keyring; }
  void set_items(size_t ok, size_t failed) {
    record_.items_ok = ok;
    record_.items_failed = failed;
  }
  Clock::time_point start() const { return start_; }
  grpc::CallbackServerContext& ctx() const { return *ctx_; }

  grpc::ServerUnaryReactor* Finish(const Status& status, size_t bytes_in, size_t bytes_out) {
    record_.status = &status;
    record_.keyring = keyring_;
    record_.bytes_in = bytes_in;
    record_.bytes_out = bytes_out;
    record_.duration = Clock::now() - start_;
    if (!status.ok()) record_.peer = ctx_->peer();  // for the failure log line only
    observer_.OnCall(record_);
    grpc::ServerUnaryReactor* reactor = reactor_;
    reactor->Finish(ToGrpc(status));
    return reactor;
  }

 private:
  CallObserver& observer_;
  grpc::CallbackServerContext* ctx_;
  grpc::ServerUnaryReactor* reactor_;
  Clock::time_point start_;
  std::string keyring_;
  CallRecord record_;
};

// The request's bytes in one piece: the slice itself when gRPC received it
// as one (the usual case), else a copy in `scratch`.
StatusOr<std::span<const uint8_t>> Contiguous(const grpc::ByteBuffer& buffer, std::vector<grpc::Slice>& slices,
                                              WireBytes& scratch) {
  if (!buffer.Dump(&slices).ok()) return Status(StatusCode::kInvalidArgument, "malformed request");
  if (slices.size() == 1) return std::span<const uint8_t>(slices[0].begin(), slices[0].size());
  scratch.clear();
  scratch.reserve(buffer.Length());
  for (const auto& slice : slices) scratch.insert(scratch.end(), slice.begin(), slice.end());
  return std::span<const uint8_t>(scratch);
}

// Checks the wire bytes (the context's size, or a batch's counts), then
// parses them into `message`.
template <typename Message, typename Check>
Status ParseChecked(const grpc::ByteBuffer& buffer, WireBytes& scratch, Message& message, Check check) {
  std::vector<grpc::Slice> slices;
  Status status = [&]() -> Status {
    auto wire = Contiguous(buffer, slices, scratch);
    if (!wire.ok()) return wire.status();
    if (Status s = check(*wire); !s.ok()) return s;
    if (!message.ParseFromArray(wire->data(), static_cast<int>(wire->size()))) {
      return Status(StatusCode::kInvalidArgument, "malformed request");
    }
    return Status();
  }();
  // A copy made from several slices may hold plaintext: wiped on every path
  // (the capacity is kept for the next call).
  internal::Cleanse(scratch.data(), scratch.size());
  scratch.clear();
  return status;
}

template <typename Message>
Status Serialize(const Message& message, grpc::ByteBuffer* out) {
  bool own = false;
  grpc::Status s = grpc::SerializationTraits<Message>::Serialize(message, out, &own);
  return s.ok() ? Status() : Status(StatusCode::kInternal, "cannot serialize the response");
}

// Fields that held plaintext or key bytes, wiped once the response is out.
void WipeSecrets(v1::EncryptRequest& req, v1::EncryptResponse&) { Wipe(*req.mutable_plaintext()); }
void WipeSecrets(v1::DecryptRequest&, v1::DecryptResponse& resp) { Wipe(*resp.mutable_plaintext()); }
void WipeSecrets(v1::ReEncryptRequest&, v1::ReEncryptResponse&) {}
void WipeSecrets(v1::GenerateDataKeyRequest&, v1::GenerateDataKeyResponse& resp) { Wipe(*resp.mutable_data_key()); }
void WipeSecrets(v1::DecryptDataKeyRequest&, v1::DecryptDataKeyResponse& resp) { Wipe(*resp.mutable_data_key()); }
void WipeSecrets(v1::BatchEncryptRequest& req, v1::BatchEncryptResponse&) {
  for (auto& item : *req.mutable_items()) Wipe(*item.mutable_plaintext());
}
void WipeSecrets(v1::BatchDecryptRequest&, v1::BatchDecryptResponse& resp) {
  for (auto& result : *resp.mutable_results()) {
    if (result.has_data()) Wipe(*result.mutable_data());
  }
}

// Ciphertexts may exceed the plaintext limit by their header and tags.
size_t CiphertextLimit(size_t max_message_bytes) { return max_message_bytes + (1u << 20); }

// The engine writes into a reused per-thread buffer; copying out of it keeps
// the hot path free of per-call vector allocations. Wiped after each use.
std::vector<uint8_t>& ThreadBuffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

WireBytes& ThreadScratch() {
  thread_local WireBytes scratch;
  return scratch;
}

void TakeBytes(std::string* field, std::vector<uint8_t>& bytes) {
  field->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  internal::Cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

void ItemErrorFor(const Status& status, v1::ItemError* error) {
  error->set_code(static_cast<int32_t>(status.code()));
  error->set_message(status.message());
}

}  // namespace

CryptoService::CryptoService(Engine& engine, ServiceLimits limits, CallObserver& observer, WorkerPool& workers)
    : engine_(engine), limits_(limits), observer_(observer), workers_(workers) {}

template <typename Request, typename Response, typename Fn>
grpc::ServerUnaryReactor* CryptoService::Unary(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp,
                                               std::string_view method, Fn fn) {
  Call call(observer_, ctx, method);
  Request request;
  Response response;
  const WireLimits wire_limits{0};
  Status status = ParseChecked(*req, ThreadScratch(), request, [&](std::span<const uint8_t> wire) {
    return ScanContextMap(wire, /*context_field=*/2, wire_limits);
  });
  if (status.ok()) status = fn(request, response, call);
  if (status.ok()) status = Serialize(response, resp);
  WipeSecrets(request, response);
  return call.Finish(status, req->Length(), status.ok() ? resp->Length() : 0);
}

grpc::ServerUnaryReactor* CryptoService::Encrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) {
  return Unary<v1::EncryptRequest, v1::EncryptResponse>(
      ctx, req, resp, "Encrypt", [this](const v1::EncryptRequest& r, v1::EncryptResponse& out, Call& call) {
        call.set_keyring(r.keyring());
        if (Status s = RequireKeyring(r.keyring()); !s.ok()) return s;
        if (r.plaintext().size() > limits_.max_message_bytes) {
          return TooLarge("plaintext", r.plaintext().size(), limits_.max_message_bytes, "EncryptStream");
        }
        auto context = ToContext(r.context());
        if (!context.ok()) return context.status();
        std::vector<uint8_t>& buffer = ThreadBuffer();
        Status s = engine_.EncryptTo(r.keyring(), *context, AsBytes(r.plaintext()), buffer);
        if (s.ok()) TakeBytes(out.mutable_ciphertext(), buffer);
        return s;
      });
}

grpc::ServerUnaryReactor* CryptoService::Decrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) {
  return Unary<v1::DecryptRequest, v1::DecryptResponse>(
      ctx, req, resp, "Decrypt", [this](const v1::DecryptRequest& r, v1::DecryptResponse& out, Call&) {
        const size_t limit = CiphertextLimit(limits_.max_message_bytes);
        if (r.ciphertext().size() > limit) return TooLarge("ciphertext", r.ciphertext().size(), limit, "DecryptStream");
        auto context = ToContext(r.context());
        if (!context.ok()) return context.status();
        std::vector<uint8_t>& buffer = ThreadBuffer();
        Status s = engine_.DecryptTo(AsBytes(r.ciphertext()), *context, buffer);
        if (s.ok()) TakeBytes(out.mutable_plaintext(), buffer);
        return s;
      });
}

grpc::ServerUnaryReactor* CryptoService::ReEncrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) {
  return Unary<v1::ReEncryptRequest, v1::ReEncryptResponse>(
      ctx, req, resp, "ReEncrypt", [this](const v1::ReEncryptRequest& r, v1::ReEncryptResponse& out, Call& call) {
        call.set_keyring(r.keyring());
        if (Status s = RequireKeyring(r.keyring()); !s.ok()) return s;
        const auto ciphertext = AsBytes(r.ciphertext());
        const size_t limit = CiphertextLimit(limits_.max_message_bytes);
        if (ciphertext.size() > limit) {
          return TooLarge("ciphertext", ciphertext.size(), limit, "ReEncrypt with the header only");
        }
        // The caller must know the context, as for Decrypt: the header is
        // authenticated and its context compared, with Decrypt's errors.
        auto context = ToContext(r.context());
        if (!context.ok()) return context.status();
        auto key = engine_.DecryptDataKey(ciphertext, *context);
        if (!key.ok()) return key.status();
        auto rewrapped = engine_.ReEncrypt(ciphertext, r.keyring());
        if (!rewrapped.ok()) return rewrapped.status();
        out.set_ciphertext(reinterpret_cast<const char*>(rewrapped->data()), rewrapped->size());
        return Status();
      });
}

grpc::ServerUnaryReactor* CryptoService::GenerateDataKey(grpc::CallbackServerContext* ctx, const Raw* req,
                                                         Raw* resp) {
  return Unary<v1::GenerateDataKeyRequest, v1::GenerateDataKeyResponse>(
      ctx, req, resp, "GenerateDataKey",
      [this](const v1::GenerateDataKeyRequest& r, v1::GenerateDataKeyResponse& out, Call& call) {
        call.set_keyring(r.keyring());
        if (Status s = RequireKeyring(r.keyring()); !s.ok()) return s;
        auto context = ToContext(r.context());
        if (!context.ok()) return context.status();
        auto grant = engine_.GenerateDataKey(r.keyring(), *context);
        if (!grant.ok()) return grant.status();
        out.set_data_key(reinterpret_cast<const char*>(grant->data_key.data()), grant->data_key.size());
        out.set_encrypted_key(reinterpret_cast<const char*>(grant->encrypted_key.data()),
                              grant->encrypted_key.size());
        return Status();
      });
}

grpc::ServerUnaryReactor* CryptoService::DecryptDataKey(grpc::CallbackServerContext* ctx, const Raw* req,
                                                        Raw* resp) {
  return Unary<v1::DecryptDataKeyRequest, v1::DecryptDataKeyResponse>(
      ctx, req, resp, "DecryptDataKey",
      [this](const v1::DecryptDataKeyRequest& r, v1::DecryptDataKeyResponse& out, Call&) {
        const size_t limit = CiphertextLimit(limits_.max_message_bytes);
        if (r.encrypted_key().size() > limit) {
          return TooLarge("encrypted_key", r.encrypted_key().size(), limit, "only the message header");
        }
        auto context = ToContext(r.context());
        if (!context.ok()) return context.status();
        auto key = engine_.DecryptDataKey(AsBytes(r.encrypted_key()), *context);
        if (!key.ok()) return key.status();
        out.set_data_key(reinterpret_cast<const char*>(key->data()), key->size());
        return Status();
      });
}

// A batch's messages and its call, owned by the task that runs it; every
// copy of plaintext in it is wiped when it goes.
template <typename Request, typename Response>
struct BatchState {
  BatchState(CallObserver& observer, grpc::CallbackServerContext* ctx, std::string_view method)
      : call(observer, ctx, method) {}
  ~BatchState() { WipeSecrets(request, response); }
  Call call;
  WireBytes wire;
  Request request;
  Response response;
};

template <typename Request, typename Response, typename ItemFn>
grpc::ServerUnaryReactor* CryptoService::Batch(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp,
                                               std::string_view method, ItemFn item_fn) {
  auto state = std::make_shared<BatchState<Request, Response>>(observer_, ctx, method);
  const size_t bytes_in = req->Length();
  constexpr BatchKind kind =
      std::is_same_v<Request, v1::BatchEncryptRequest> ? BatchKind::kEncrypt : BatchKind::kDecrypt;
  const WireLimits wire_limits{limits_.max_batch_items};
  // Checked here, on gRPC's thread: an oversize batch never reaches the pool.
  Status parsed = ParseChecked(*req, state->wire, state->request, [&](std::span<const uint8_t> wire) {
    return ScanBatchRequest(kind, wire, wire_limits);
  });
  state->wire = WireBytes();  // wiped: the request's bytes are parsed now
  if (!parsed.ok()) return state->call.Finish(parsed, bytes_in, 0);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto work = [this, state, resp, bytes_in, item_fn] {
    Call& call = state->call;
    Request& request = state->request;
    if constexpr (std::is_same_v<Request, v1::BatchEncryptRequest>) call.set_keyring(request.keyring());
    Status status = CallAlive(call.ctx(), call.start(), limits_.default_deadline);
    if constexpr (std::is_same_v<Request, v1::BatchEncryptRequest>) {
      if (status.ok()) status = RequireKeyring(request.keyring());
    }
    size_t ok = 0, failed = 0;
    std::vector<uint8_t>& out = ThreadBuffer();
    state->response.mutable_results()->Reserve(request.items_size());
    for (int i = 0; i < request.items_size() && status.ok(); ++i) {
      if ((i & 63) == 63) status = CallAlive(call.ctx(), call.start(), limits_.default_deadline);
      auto* result = state->response.add_results();
      if (Status item = item_fn(request, i, out); item.ok()) {
        TakeBytes(result->mutable_data(), out);
        ++ok;
      } else {
        ItemErrorFor(item, result->mutable_error());
        ++failed;
      }
    }
    if (status.ok()) status = Serialize(state->response, resp);
    call.set_items(ok, failed);
    call.Finish(status, bytes_in, status.ok() ? resp->Length() : 0);
  };
  if (!workers_.Post(std::move(work))) return state->call.Finish(Overloaded(), bytes_in, 0);
  return reactor;
}

grpc::ServerUnaryReactor* CryptoService::BatchEncrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) {
  return Batch<v1::BatchEncryptRequest, v1::BatchEncryptResponse>(
      ctx, req, resp, "BatchEncrypt", [this](const v1::BatchEncryptRequest& r, int i, std::vector<uint8_t>& out) {
        const auto& item = r.items(i);
        if (item.plaintext().size() > limits_.max_message_bytes) {
          return TooLarge("plaintext", item.plaintext().size(), limits_.max_message_bytes, "EncryptStream");
        }
        auto context = ToContext(item.context());
        if (!context.ok()) return context.status();
        return engine_.EncryptTo(r.keyring(), *context, AsBytes(item.plaintext()), out);
      });
}

grpc::ServerUnaryReactor* CryptoService::BatchDecrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) {
  return Batch<v1::BatchDecryptRequest, v1::BatchDecryptResponse>(
      ctx, req, resp, "BatchDecrypt", [this](const v1::BatchDecryptRequest& r, int i, std::vector<uint8_t>& out) {
        const auto& item = r.items(i);
        auto context = ToContext(item.context());
        if (!context.ok()) return context.status();
        return engine_.DecryptTo(AsBytes(item.ciphertext()), *context, out);
      });
}

grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* CryptoService::EncryptStream(
    grpc::CallbackServerContext* ctx) {
  return NewEncryptStreamReactor(ctx, engine_, limits_, observer_, workers_);
}

grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* CryptoService::DecryptStream(
    grpc::CallbackServerContext* ctx) {
  return NewDecryptStreamReactor(ctx, engine_, limits_, observer_, workers_);
}

}  // namespace ses::daemon
