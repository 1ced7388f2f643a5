// SesdProcess: a real `sesd` child process for end-to-end tests.
//
// Starts `sesd --dev --dir DIR` (or --config FILE) with both listeners on
// ephemeral ports (via SES_SERVER__LISTEN / SES_TELEMETRY__LISTEN), waits
// until it has written its port file, and kills it (SIGKILL) when destroyed
// if it is still running. Its stderr goes to DIR/sesd.log.
//
// Thread safety: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ses/client/client.h"
#include "ses/status.h"

namespace ses::testing {

struct SesdOptions {
  std::map<std::string, std::string> env;  // extra environment, e.g. SES_SERVER__MAX_MESSAGE_BYTES
  std::vector<std::string> args;           // extra arguments
  std::optional<std::filesystem::path> config;  // --config FILE instead of --dev
};

class SesdProcess {
 public:
  // `dir` is the --dev directory (and where the log and port file go).
  static StatusOr<std::unique_ptr<SesdProcess>> Start(const std::filesystem::path& dir, SesdOptions options = {});
  ~SesdProcess();

  pid_t pid() const { return pid_; }
  const std::string& endpoint() const { return endpoint_; }    // gRPC host:port
  const std::string& telemetry() const { return telemetry_; }  // HTTP host:port
  // Options for ses::client with the dev CA and client certificate.
  client::ClientOptions ClientOptions() const;

  void Signal(int sig) const;
  // The exit code, or nullopt if it did not exit within `timeout`.
  std::optional<int> WaitExit(std::chrono::seconds timeout);
  std::string Log() const;
  // Peak resident memory of the process (VmHWM), in bytes.
  size_t PeakRssBytes() const;

 private:
  SesdProcess() = default;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string endpoint_, telemetry_;
};

// A GET over plain HTTP/1.1; returns the status (0 if the connection failed)
// and fills `body`.
int HttpGet(const std::string& host_port, const std::string& path, std::string* body);

// The peak resident memory of this process so far (VmHWM), in bytes.
size_t SelfPeakRssBytes();

// The sesd and sesctl binaries of this build.
std::string SesdBinary();
std::string SesctlBinary();

}  // namespace ses::testing
