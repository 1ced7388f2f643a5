// CryptoService: the ses.v1.Crypto service over an Engine (callback API, so
// a call in flight holds no thread while it waits on the network).
//
// Unary calls run the engine inline on gRPC's callback thread: a cached data
// key makes them a few microseconds of CPU, and a provider call (a cache
// miss) is one HSM or KMS round trip. Streams are reactors that read one
// request, process it, write its output and only then read the next, so each
// stream holds at most one request and its output in memory.
//
// Limits: unary payloads above max_message_bytes are refused with
// RESOURCE_EXHAUSTED naming the stream call to use instead; batches above
// max_batch_items likewise. Cancelled calls and passed deadlines stop batch
// and stream work between items and chunks.
//
// Thread safety: the service is shared by all gRPC threads; Engine is
// thread-safe and the observer must be.
#pragma once

#include <cstddef>
#include <memory>

#include "service/call_observer.h"
#include "ses/engine.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::daemon {

struct ServiceLimits {
  size_t max_message_bytes = 4 * 1024 * 1024;
  size_t max_batch_items = 10000;
};

class CryptoService final : public ses::v1::Crypto::CallbackService {
 public:
  CryptoService(Engine& engine, ServiceLimits limits, CallObserver& observer);

  grpc::ServerUnaryReactor* Encrypt(grpc::CallbackServerContext* ctx, const v1::EncryptRequest* req,
                                    v1::EncryptResponse* resp) override;
  grpc::ServerUnaryReactor* Decrypt(grpc::CallbackServerContext* ctx, const v1::DecryptRequest* req,
                                    v1::DecryptResponse* resp) override;
  grpc::ServerUnaryReactor* ReEncrypt(grpc::CallbackServerContext* ctx, const v1::ReEncryptRequest* req,
                                      v1::ReEncryptResponse* resp) override;
  grpc::ServerUnaryReactor* GenerateDataKey(grpc::CallbackServerContext* ctx,
                                            const v1::GenerateDataKeyRequest* req,
                                            v1::GenerateDataKeyResponse* resp) override;
  grpc::ServerUnaryReactor* DecryptDataKey(grpc::CallbackServerContext* ctx, const v1::DecryptDataKeyRequest* req,
                                           v1::DecryptDataKeyResponse* resp) override;
  grpc::ServerUnaryReactor* BatchEncrypt(grpc::CallbackServerContext* ctx, const v1::BatchEncryptRequest* req,
                                         v1::BatchEncryptResponse* resp) override;
  grpc::ServerUnaryReactor* BatchDecrypt(grpc::CallbackServerContext* ctx, const v1::BatchDecryptRequest* req,
                                         v1::BatchDecryptResponse* resp) override;
  grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* EncryptStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* DecryptStream(
      grpc::CallbackServerContext* ctx) override;

 private:
  Engine& engine_;
  ServiceLimits limits_;
  CallObserver& observer_;
};

}  // namespace ses::daemon
