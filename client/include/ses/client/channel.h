// The gRPC pieces under Client, for tools that drive the generated stubs
// themselves (sesctl bench uses the callback API on them).
//
// Thread safety: free functions; a channel is thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include "ses/client/client.h"

namespace ses::client {

// A channel to options.server with the options' credentials. With
// `own_connection`, the channel does not share its TCP connection with other
// channels to the same server (load tools use one per worker).
StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const ClientOptions& options, bool own_connection = false);

// A gRPC status as a ses::Status: same code (the numbering is shared), the
// server's message, and for transport failures (UNAVAILABLE,
// DEADLINE_EXCEEDED) the server's address.
Status FromGrpcStatus(const grpc::Status& status, std::string_view server);

}  // namespace ses::client
