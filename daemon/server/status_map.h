// ses::Status <-> grpc::Status. SES codes are google.rpc codes, so the code
// carries over unchanged; messages are SES's own, which never hold secrets
// or plaintext (docs/api.md lists what each code means for each call).
#pragma once

#include <grpcpp/support/status.h>

#include "ses/status.h"

namespace ses::daemon {

inline grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

inline Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return Status();
  return Status(static_cast<StatusCode>(status.error_code()), status.error_message());
}

}  // namespace ses::daemon
