// The sesd process: loads the config, builds the engine over instrumented
// providers, opens the store, serves gRPC and telemetry, and handles
// signals (SIGHUP reloads TLS files, SIGTERM/SIGINT drain and exit 0).
#pragma once

#include <filesystem>
#include <string>

#include "server/signals.h"

namespace ses::daemon {

struct SesdFlags {
  std::filesystem::path config;        // --config
  bool dev = false;                    // --dev
  std::filesystem::path dev_dir = "var/dev";  // --dir
  bool insecure = false;               // --insecure
  std::string listen;                  // --listen: overrides [server] listen
  std::filesystem::path port_file;     // --port-file: "host:port" once listening
};

// Runs until a terminating signal; returns the process exit code (0 after a
// drain, 1 when start-up fails, with one line on stderr saying why).
int RunSesd(const SesdFlags& flags, SignalWaiter& signals);

}  // namespace ses::daemon
