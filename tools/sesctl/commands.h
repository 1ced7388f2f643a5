// sesctl's commands. Each parses its own options and returns the process
// exit code: 0 success, 1 the operation failed, 2 bad usage. Errors go to
// stderr as one line; nothing secret is ever printed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ses/client/client.h"
#include "ses/status.h"

namespace ses::cli {

struct Globals {
  std::string config;  // --config FILE (may be empty)
  std::string program; // argv[0], for the hints init prints
  // Client mode: set by --server or --dev (validated), else offline mode.
  std::optional<client::ClientOptions> server;
};

using Args = std::vector<std::string>;

int RunInit(const Globals& g, const Args& args);
int RunEncrypt(const Globals& g, const Args& args);
int RunDecrypt(const Globals& g, const Args& args);
int RunReEncrypt(const Globals& g, const Args& args);
int RunInspect(const Globals& g, const Args& args);
int RunKeys(const Globals& g, const Args& args);
int RunPlugins(const Globals& g, const Args& args);
// Client mode only (remote.cc, cmd_datakey.cc, cmd_bench.cc).
int RunDataKey(const Globals& g, const Args& args);
int RunBench(const Globals& g, const Args& args);

// Prints "sesctl: <what>: <message>" and returns 1.
int Fail(const std::string& what, const Status& s);
// Prints "sesctl: <message>" (usage) and returns 2.
int Usage(const std::string& message);

}  // namespace ses::cli
