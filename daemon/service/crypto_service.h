// CryptoService: the ses.v1.Crypto service over an Engine (callback API, so
// a call in flight holds no thread while it waits on the network).
//
// Every unary call arrives as raw bytes: the encryption context (and, for
// batches, the item count and every item's context) is checked on the wire
// (wire_scan.h) before protobuf builds any object, because parsing first
// would let a few MiB of tiny map entries or empty items cost hundreds of
// MiB. The request and response then live on the handler's stack (or the
// batch task), so fields that held plaintext or key bytes are wiped as soon
// as the response is serialized.
//
// Unary calls run the engine inline on gRPC's callback thread: a cached data
// key makes them a few microseconds of CPU, and a provider call (a cache
// miss) is one HSM round trip. Batches and stream chunks run on the worker
// pool. Streams are reactors that read one request, process it, write its
// output and only then read the next, so each stream holds at most one
// request and its output in memory.
//
// Limits: unary payloads above max_message_bytes are refused with
// RESOURCE_EXHAUSTED naming the stream call to use instead; batches above
// max_batch_items likewise. Cancelled calls and passed deadlines stop batch
// and stream work between items and chunks.
//
// Thread safety: the service is shared by all gRPC threads; Engine is
// thread-safe and the observer must be.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "service/call_observer.h"
#include "service/worker_pool.h"
#include "ses/engine.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::daemon {

struct ServiceLimits {
  size_t max_message_bytes = 4 * 1024 * 1024;
  size_t max_batch_items = 10000;
  // Applied to batch and stream calls that bring no deadline (0: none).
  std::chrono::milliseconds default_deadline{0};
};

using CryptoServiceBase = v1::Crypto::WithRawCallbackMethod_Encrypt<v1::Crypto::WithRawCallbackMethod_Decrypt<
    v1::Crypto::WithRawCallbackMethod_ReEncrypt<v1::Crypto::WithRawCallbackMethod_GenerateDataKey<
        v1::Crypto::WithRawCallbackMethod_DecryptDataKey<v1::Crypto::WithRawCallbackMethod_BatchEncrypt<
            v1::Crypto::WithRawCallbackMethod_BatchDecrypt<v1::Crypto::CallbackService>>>>>>>;

class CryptoService final : public CryptoServiceBase {
 public:
  CryptoService(Engine& engine, ServiceLimits limits, CallObserver& observer, WorkerPool& workers);

  using Raw = grpc::ByteBuffer;
  grpc::ServerUnaryReactor* Encrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* Decrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* ReEncrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* GenerateDataKey(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* DecryptDataKey(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* BatchEncrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerUnaryReactor* BatchDecrypt(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp) override;
  grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* EncryptStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* DecryptStream(
      grpc::CallbackServerContext* ctx) override;

 private:
  // Scans, parses, runs `fn(request, response, keyring_out)` inline, then
  // serializes and wipes.
  template <typename Request, typename Response, typename Fn>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp,
                                  std::string_view method, Fn fn);
  // The same for batches, on the worker pool, one `item_fn` call per item.
  template <typename Request, typename Response, typename ItemFn>
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* ctx, const Raw* req, Raw* resp,
                                  std::string_view method, ItemFn item_fn);

  Engine& engine_;
  ServiceLimits limits_;
  CallObserver& observer_;
  WorkerPool& workers_;
};

}  // namespace ses::daemon
