#include "server/grpc_server.h"

#include <thread>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

namespace ses::daemon {
namespace {

// gRPC's own cap on a received message: the payload limit plus room for a
// ciphertext's header and tags and the other fields, so that oversize
// payloads reach the service and get its message naming the stream calls.
int ReceiveLimit(size_t max_message_bytes) {
  const size_t limit = max_message_bytes + (2u << 20);
  return limit > static_cast<size_t>(INT32_MAX) ? INT32_MAX : static_cast<int>(limit);
}

std::string HostOf(const std::string& listen) {
  const auto colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

}  // namespace

static size_t WorkerCount(int configured) {
  if (configured > 0) return static_cast<size_t>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

GrpcServer::GrpcServer(Engine& engine, CallObserver& observer, GrpcServerOptions options)
    : options_(std::move(options)),
      workers_(WorkerCount(options_.workers), options_.max_queued),
      crypto_(engine, options_.limits, observer, workers_),
      diagnostics_(observer) {}

GrpcServer::~GrpcServer() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

Status GrpcServer::Start(std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options_.listen, std::move(credentials), &port);
  builder.RegisterService(&crypto_);
  builder.RegisterService(&diagnostics_);
  builder.SetMaxReceiveMessageSize(ReceiveLimit(options_.limits.max_message_bytes));
  builder.SetMaxSendMessageSize(-1);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return Status(StatusCode::kUnavailable,
                  "cannot listen on " + options_.listen + " (address in use, not local, or not host:port)");
  }
  bound_address_ = HostOf(options_.listen) + ":" + std::to_string(port);
  SetServing(false);  // until the first readiness check passes
  return Status();
}

void GrpcServer::SetServing(bool serving) {
  if (!server_) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    health->SetServingStatus("ses.v1.Crypto", serving);
  }
}

void GrpcServer::Shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
}

void GrpcServer::Wait() {
  if (server_) server_->Wait();
}

}  // namespace ses::daemon
