// Reactors for EncryptStream and DecryptStream. Each reads one request,
// feeds it to an engine stream on the worker pool, writes the output in
// chunks of at most kStreamChunkBytes, and reads the next request only when
// the output is out: memory per stream is one request plus its output,
// whatever the total size.
#pragma once

#include <cstddef>

#include "service/call_observer.h"
#include "service/crypto_service.h"
#include "service/worker_pool.h"

namespace ses::daemon {

inline constexpr size_t kStreamChunkBytes = 1 << 20;

grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* NewEncryptStreamReactor(
    grpc::CallbackServerContext* ctx, Engine& engine, const ServiceLimits& limits, CallObserver& observer,
    WorkerPool& workers);
grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* NewDecryptStreamReactor(
    grpc::CallbackServerContext* ctx, Engine& engine, const ServiceLimits& limits, CallObserver& observer,
    WorkerPool& workers);

}  // namespace ses::daemon
