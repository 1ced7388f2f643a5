#include "fake_crypto_server.h"

#include <chrono>
#include <stdexcept>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "ses/v1/crypto.grpc.pb.h"

namespace ses::testing {
namespace {

EncryptionContext FromProto(const google::protobuf::Map<std::string, std::string>& m) {
  EncryptionContext out;
  for (const auto& [k, v] : m) out.emplace(k, v);
  return out;
}

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

grpc::Status ToGrpc(const Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(s.code())), s.message());
}

// Sends `chunks` chunks, then neither reads nor writes until the client
// cancels the call.
template <typename Request>
class SilentStream final : public grpc::ServerBidiReactor<Request, v1::StreamChunk> {
 public:
  SilentStream(int chunks, std::atomic<int>& cancelled) : left_(chunks), cancelled_(cancelled) {
    chunk_.set_data("partial output");
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }
  void OnCancel() override {
    ++cancelled_;
    this->Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (left_-- > 0) this->StartWrite(&chunk_);
  }
  int left_;
  std::atomic<int>& cancelled_;
  v1::StreamChunk chunk_;
};

}  // namespace

class FakeCryptoServer::Service final : public v1::Crypto::CallbackService {
 public:
  Service(FakeCryptoServer& owner, Behaviour b) : owner_(owner), b_(std::move(b)) {}

  grpc::ServerUnaryReactor* GenerateDataKey(grpc::CallbackServerContext* ctx, const v1::GenerateDataKeyRequest* req,
                                            v1::GenerateDataKeyResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    auto grant = owner_.engine().GenerateDataKey(req->keyring(), b_.grant_context.value_or(FromProto(req->context())));
    if (!grant.ok()) {
      reactor->Finish(ToGrpc(grant.status()));
      return reactor;
    }
    resp->set_data_key(reinterpret_cast<const char*>(grant->data_key.data()), grant->data_key.size());
    resp->set_encrypted_key(std::string(grant->encrypted_key.begin(), grant->encrypted_key.end()));
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* DecryptDataKey(grpc::CallbackServerContext* ctx, const v1::DecryptDataKeyRequest* req,
                                           v1::DecryptDataKeyResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    EncryptionContext context = FromProto(req->context());
    if (b_.ignore_decrypt_context) {
      auto info = Engine::Inspect(Bytes(req->encrypted_key()));
      if (!info.ok()) {
        reactor->Finish(ToGrpc(info.status()));
        return reactor;
      }
      context = info->context;
    }
    auto key = owner_.engine().DecryptDataKey(Bytes(req->encrypted_key()), context);
    if (!key.ok()) {
      reactor->Finish(ToGrpc(key.status()));
      return reactor;
    }
    resp->set_data_key(reinterpret_cast<const char*>(key->data()), key->size());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* EncryptStream(
      grpc::CallbackServerContext*) override {
    ++owner_.streams_started_;
    return new SilentStream<v1::EncryptStreamRequest>(b_.stream_chunks_then_silence, owner_.streams_cancelled_);
  }

  grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* DecryptStream(
      grpc::CallbackServerContext*) override {
    ++owner_.streams_started_;
    return new SilentStream<v1::DecryptStreamRequest>(b_.stream_chunks_then_silence, owner_.streams_cancelled_);
  }

 private:
  FakeCryptoServer& owner_;
  const Behaviour b_;
};

FakeCryptoServer::FakeCryptoServer(Behaviour behaviour) {
  env_.CreateKey("default.key");
  engine_ = env_.MakeEngine({TestEnv::Keyring("default", {"keyfile://default.key"})});
  service_ = std::make_unique<Service>(*this, std::move(behaviour));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) throw std::runtime_error("fake crypto server did not start");
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeCryptoServer::~FakeCryptoServer() {
  // An immediate deadline cancels the silent streams, which then finish.
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
}

client::ClientOptions FakeCryptoServer::InsecureOptions() const {
  client::ClientOptions o;
  o.server = address_;
  o.insecure = true;
  return o;
}

}  // namespace ses::testing
