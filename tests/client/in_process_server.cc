#include "in_process_server.h"

#include <stdexcept>

#include <grpcpp/security/server_credentials.h>

namespace ses::testing {

InProcessServer::InProcessServer(daemon::ServiceLimits limits) {
  env_.CreateKey("default.key");
  env_.CreateKey("other.key");
  engine_ = env_.MakeEngine({TestEnv::Keyring("default", {"keyfile://default.key"}),
                             TestEnv::Keyring("other", {"keyfile://other.key"})});
  daemon::GrpcServerOptions o;
  o.listen = "127.0.0.1:0";
  o.limits = limits;
  o.workers = 2;
  server_ = std::make_unique<daemon::GrpcServer>(*engine_, observer_, o);
}

InProcessServer::~InProcessServer() {
  server_->Shutdown(std::chrono::milliseconds(0));
  server_->Wait();
}

void InProcessServer::Start(std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (!credentials) credentials = grpc::InsecureServerCredentials();
  Status s = server_->Start(std::move(credentials));
  if (!s.ok()) throw std::runtime_error(s.ToString());
  address_ = server_->bound_address();
}

void InProcessServer::StartWithDevPki(const std::filesystem::path& dir, tls::DevPkiPaths* pki) {
  Status s = tls::EnsureDevPki(dir, pki);
  if (!s.ok()) throw std::runtime_error(s.ToString());
  auto server_tls = tls::ServerTls::Create({pki->server_cert, pki->server_key, pki->ca_cert, "1.2"});
  if (!server_tls.ok()) throw std::runtime_error(server_tls.status().ToString());
  tls_ = std::move(server_tls).value();
  Start(tls_->credentials());
}

client::ClientOptions InProcessServer::InsecureOptions() const {
  client::ClientOptions o;
  o.server = address_;
  o.insecure = true;
  return o;
}

}  // namespace ses::testing
