// GrpcServer: the data-plane listener. Serves ses.v1.Crypto,
// ses.v1.Diagnostics and grpc.health.v1.Health on one port.
//
// Shutdown(grace) stops accepting calls at once, lets calls in flight finish
// until the grace period ends, then cancels what is left.
//
// Thread safety: Start once, then Shutdown/SetServing from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>

#include "service/crypto_service.h"
#include "service/diagnostics_service.h"
#include "ses/status.h"

namespace ses::daemon {

struct GrpcServerOptions {
  std::string listen = "127.0.0.1:7443";
  ServiceLimits limits;
  int max_concurrent_streams = 100;  // per connection
  int workers = 0;                   // worker pool threads; 0: number of cores
  size_t max_queued = 1024;          // tasks waiting for a worker before calls are refused
};

class GrpcServer {
 public:
  GrpcServer(Engine& engine, CallObserver& observer, GrpcServerOptions options);
  ~GrpcServer();

  // Binds and starts serving. Fails naming the address if it cannot bind.
  Status Start(std::shared_ptr<grpc::ServerCredentials> credentials);
  // host:port actually bound (the port resolved when the config said 0).
  std::string bound_address() const { return bound_address_; }

  // What grpc.health.v1 reports for "" and "ses.v1.Crypto".
  void SetServing(bool serving);

  void Shutdown(std::chrono::milliseconds grace);
  void Wait();

 private:
  GrpcServerOptions options_;
  WorkerPool workers_;  // outlives the server: calls in flight finish on it
  CryptoService crypto_;
  DiagnosticsService diagnostics_;
  std::unique_ptr<grpc::Server> server_;
  std::string bound_address_;
};

}  // namespace ses::daemon
