// DiagnosticsService: Echo returns its payload on the same server stack as
// the crypto calls, so `sesctl bench --op echo` measures the transport's
// ceiling to compare Encrypt against.
#pragma once

#include "service/call_observer.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::daemon {

class DiagnosticsService final : public ses::v1::Diagnostics::CallbackService {
 public:
  explicit DiagnosticsService(CallObserver& observer) : observer_(observer) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* req,
                                 v1::EchoResponse* resp) override;

 private:
  CallObserver& observer_;
};

}  // namespace ses::daemon
