// Signals for sesd, handled synchronously: the constructor blocks SIGTERM,
// SIGINT and SIGHUP in the calling thread, so every thread started after it
// inherits the mask and only Wait() sees them (no async-signal-safety
// hazards in handlers). SIGPIPE is ignored: a client hanging up is an error
// on that socket, not a reason to die.
//
// Construct it first in main(), before any thread starts.
#pragma once

#include <chrono>
#include <optional>

namespace ses::daemon {

class SignalWaiter {
 public:
  SignalWaiter();
  // The next of SIGTERM, SIGINT or SIGHUP; nullopt if `timeout` passes first.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
};

}  // namespace ses::daemon
