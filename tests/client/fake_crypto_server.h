// FakeCryptoServer: a Crypto service that misbehaves on purpose, for the
// client's defences against what sesd's real server never does: streams that
// go silent, and data keys handed out for a context other than the one asked
// for. Data keys are real (a real engine over the keyfile and cipher-openssl
// plugins, keyring "default"), so the client's own checks run unchanged.
//
// Thread safety: one test at a time; the service runs on gRPC's threads.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server.h>

#include "ses/client/client.h"
#include "ses/engine.h"
#include "test_env.h"

namespace ses::testing {

class FakeCryptoServer {
 public:
  struct Behaviour {
    // GenerateDataKey seals the key to this context instead of the
    // request's (a misrouting server).
    std::optional<EncryptionContext> grant_context;
    // DecryptDataKey opens the key under the header's own context, whatever
    // the request says (a server that skips the context check).
    bool ignore_decrypt_context = false;
    // EncryptStream and DecryptStream send this many chunks at once and then
    // nothing more; they read nothing and end only when cancelled.
    int stream_chunks_then_silence = 0;
  };

  explicit FakeCryptoServer(Behaviour behaviour);
  ~FakeCryptoServer();  // cancels whatever is still running

  const std::string& address() const { return address_; }
  client::ClientOptions InsecureOptions() const;
  Engine& engine() { return *engine_; }
  TestEnv& env() { return env_; }
  // Streams the server has started, and ended by a cancel from the client.
  int streams_started() const { return streams_started_.load(); }
  int streams_cancelled() const { return streams_cancelled_.load(); }

 private:
  class Service;
  TestEnv env_;
  std::unique_ptr<Engine> engine_;
  std::atomic<int> streams_started_{0}, streams_cancelled_{0};
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace ses::testing
