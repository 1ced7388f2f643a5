// InProcessServer: sesd's real gRPC server (daemon/server/grpc_server.h)
// over a real engine (keyfile and cipher-openssl plugins), listening on a
// free loopback port inside the test process, so the client and sesctl can
// be tested end to end without the sesd binary.
//
// Thread safety: one test at a time; the server serves on gRPC's threads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "server/grpc_server.h"
#include "ses/client/client.h"
#include "test_env.h"
#include "tls/credentials.h"
#include "tls/dev_pki.h"

namespace ses::testing {

class InProcessServer {
 public:
  // Keyrings "default" and "other" (each its own keyfile master key).
  explicit InProcessServer(daemon::ServiceLimits limits = {});
  ~InProcessServer();

  // Starts with `credentials` (insecure when null) on 127.0.0.1:0.
  void Start(std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  // Starts with mutual TLS (1.2 and up) from the development PKI that
  // tls::EnsureDevPki keeps in `dir`; its paths go to `pki` for the client.
  void StartWithDevPki(const std::filesystem::path& dir, tls::DevPkiPaths* pki);
  const std::string& address() const { return address_; }
  Engine& engine() { return *engine_; }
  TestEnv& env() { return env_; }

  // Client options for this server without TLS.
  client::ClientOptions InsecureOptions() const;

 private:
  struct NullObserver : daemon::CallObserver {
    void OnCall(const daemon::CallRecord&) override {}
  };
  TestEnv env_;
  std::unique_ptr<Engine> engine_;
  NullObserver observer_;
  // Declared before server_: it must outlive every server using its credentials.
  std::unique_ptr<tls::ServerTls> tls_;
  std::unique_ptr<daemon::GrpcServer> server_;
  std::string address_;
};

}  // namespace ses::testing
