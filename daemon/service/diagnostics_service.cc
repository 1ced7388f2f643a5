#include "service/diagnostics_service.h"

#include "service/request_util.h"

namespace ses::daemon {

grpc::ServerUnaryReactor* DiagnosticsService::Echo(grpc::CallbackServerContext* ctx, const v1::EchoRequest* req,
                                                   v1::EchoResponse* resp) {
  // Same bookkeeping as a crypto call (observer, timing), so the comparison
  // isolates the crypto.
  const auto start = Clock::now();
  observer_.OnCallStarted();
  resp->set_payload(req->payload());
  static const Status kOk;
  CallRecord record;
  record.method = "Echo";
  record.status = &kOk;
  record.bytes_in = req->payload().size();
  record.bytes_out = resp->payload().size();
  record.duration = Clock::now() - start;
  observer_.OnCall(record);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace ses::daemon
