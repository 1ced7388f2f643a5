// CallObserver: what the services report about every finished call, so
// metrics and logs live outside the request handlers.
//
// Thread safety: OnCall is invoked concurrently from gRPC's threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "ses/status.h"

namespace ses::daemon {

// Method names as metrics and logs show them (the RPC name).
struct CallRecord {
  std::string_view method;
  std::string_view keyring;  // empty when the call names none
  std::string peer;          // failed calls only: grpc's peer, e.g. "ipv4:127.0.0.1:50412"
  const Status* status = nullptr;
  size_t bytes_in = 0;
  size_t bytes_out = 0;
  std::chrono::nanoseconds duration{0};
  size_t items_ok = 0;  // batch calls only
  size_t items_failed = 0;
};

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void OnCallStarted() {}
  virtual void OnCall(const CallRecord& record) = 0;
};

}  // namespace ses::daemon
