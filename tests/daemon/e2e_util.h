// Helpers shared by the robustness end-to-end tests of sesd: waiting for a
// condition, the raw generated stub, grpc.health.v1 without a generated
// client, reading one Prometheus sample, running a shell command, and
// reading the daemon's "call failed" log lines.
//
// Thread safety: free functions; each call is independent.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include "ses/client/client.h"
#include "ses/status.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::testing {

// Calls `condition` every 20 ms until it returns true or `timeout` passes;
// returns whether it ever did. For waiting on another process, never for
// guessing how long something takes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A channel of its own (never shared with another channel's connection) to
// options.server, with the options' TLS files; fails the test if it cannot.
std::shared_ptr<grpc::Channel> OwnChannel(const client::ClientOptions& options);
std::unique_ptr<v1::Crypto::Stub> RawStub(const std::shared_ptr<grpc::Channel>& channel);

// grpc.health.v1.Health/Check for `service` ("" is the whole server).
struct HealthReply {
  grpc::Status status;
  int serving_status = -1;  // 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING; -1 if the call failed
};
HealthReply CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The value of the sample `series` (the exact text before the value, e.g.
// `ses_requests_total{method="Encrypt",code="OK"}`) in a Prometheus text
// exposition; nullopt if there is no such line.
std::optional<double> MetricValue(const std::string& exposition, const std::string& series);

// Runs `command` through /bin/sh with stdout and stderr captured together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunShell(const std::string& command);

// The daemon's "call failed" lines for `method` (the whole lines).
std::vector<std::string> FailureLines(const std::string& log, const std::string& method);

// Good Encrypt/Decrypt round trips on a client of its own, on a thread of
// its own, until Stop(): the plaintexts come from `make_plaintext(i)`.
// Counts round trips that came back intact and failures (keeping the first).
class RoundTripLoop {
 public:
  RoundTripLoop(const client::ClientOptions& options, std::string keyring, EncryptionContext context,
                std::function<std::vector<uint8_t>(uint32_t)> make_plaintext);
  ~RoundTripLoop();

  void Stop();
  int round_trips() const { return round_trips_; }
  int failures() const { return failures_; }
  std::string first_failure() const;
  // Waits until at least `n` more round trips than now have completed, or a
  // failure happened; false if neither within `timeout`.
  bool WaitForMore(int n, std::chrono::milliseconds timeout) const;

 private:
  void Run();
  void Fail(const std::string& what);

  const std::string keyring_;
  const EncryptionContext context_;
  const std::function<std::vector<uint8_t>(uint32_t)> make_plaintext_;
  std::unique_ptr<client::Client> client_;
  std::atomic<bool> stop_{false};
  std::atomic<int> round_trips_{0};
  std::atomic<int> failures_{0};
  mutable std::mutex mu_;
  std::string first_failure_;  // guarded by mu_
  std::thread thread_;
};

// True if `text` contains `needle`.
inline bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace ses::testing
