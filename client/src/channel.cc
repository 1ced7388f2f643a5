// Option checks, channel construction and the status mapping.
#include "ses/client/channel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "tls/credentials.h"

namespace ses::client {
namespace {

// Replies larger than gRPC's 4 MiB default are legitimate here (a batch of
// many messages); the server enforces its own limits on what it sends.
constexpr int kMaxReceiveMessageBytes = 64 * 1024 * 1024;

Status CheckPort(std::string_view server, std::string_view port) {
  if (port.empty() || port.size() > 5) return InvalidArgumentError("bad server '" + std::string(server) + "': expected HOST:PORT");
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return InvalidArgumentError("bad server '" + std::string(server) + "': port is not a number");
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) {
    return InvalidArgumentError("bad server '" + std::string(server) + "': port must be 1-65535");
  }
  return OkStatus();
}

Status CheckServer(std::string_view server) {
  const std::string expected = "bad server '" + std::string(server) + "': expected HOST:PORT";
  if (server.empty()) return InvalidArgumentError("no server given: expected HOST:PORT");
  if (server.front() == '[') {  // [IPv6]:PORT
    size_t close = server.find(']');
    if (close == std::string_view::npos || close == 1 || close + 1 >= server.size() || server[close + 1] != ':') {
      return InvalidArgumentError(expected);
    }
    return CheckPort(server, server.substr(close + 2));
  }
  size_t colon = server.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return InvalidArgumentError(expected);
  if (server.substr(0, colon).find(':') != std::string_view::npos) {
    return InvalidArgumentError("bad server '" + std::string(server) + "': write an IPv6 address as [ADDRESS]:PORT");
  }
  return CheckPort(server, server.substr(colon + 1));
}

Status CheckReadableFile(const std::string& path, std::string_view what) {
  // Non-blocking: a FIFO given as a certificate must not hang the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kInvalidArgument,
                  "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) return InvalidArgumentError(std::string(what) + " " + path + " is not a regular file");
  return OkStatus();
}

}  // namespace

Status ValidateClientOptions(const ClientOptions& o) {
  SES_RETURN_IF_ERROR(CheckServer(o.server));
  if (o.insecure && (!o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty())) {
    return InvalidArgumentError("insecure mode takes no CA file, certificate or key");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    return InvalidArgumentError("a client certificate and its key go together: give both or neither");
  }
  if (!o.ca_file.empty()) SES_RETURN_IF_ERROR(CheckReadableFile(o.ca_file, "CA file"));
  if (!o.cert_file.empty()) SES_RETURN_IF_ERROR(CheckReadableFile(o.cert_file, "client certificate"));
  if (!o.key_file.empty()) SES_RETURN_IF_ERROR(CheckReadableFile(o.key_file, "client key"));
  if (o.timeout.count() <= 0) return InvalidArgumentError("timeout must be positive");
  if (o.stream_idle_timeout.count() <= 0) return InvalidArgumentError("stream idle timeout must be positive");
  return OkStatus();
}

StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const ClientOptions& options, bool own_connection) {
  SES_RETURN_IF_ERROR(ValidateClientOptions(options));
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    // Empty ca_file: the system's roots. The files are validated again there
    // (PEM, key matches certificate, validity period).
    SES_ASSIGN_OR_RETURN(creds, tls::ClientCredentials(options.ca_file, options.cert_file, options.key_file));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(options.server, creds, args);
}

Status FromGrpcStatus(const grpc::Status& status, std::string_view server) {
  if (status.ok()) return OkStatus();
  int raw = static_cast<int>(status.error_code());
  StatusCode code = raw >= 0 && raw <= static_cast<int>(StatusCode::kUnauthenticated) ? static_cast<StatusCode>(raw)
                                                                                      : StatusCode::kUnknown;
  std::string message = status.error_message();
  if (code == StatusCode::kUnavailable) {
    message = "sesd at " + std::string(server) + " unavailable: " + message;
  } else if (code == StatusCode::kDeadlineExceeded) {
    message = "sesd at " + std::string(server) + " did not answer in time: " + message;
  } else if (message.empty()) {
    message = std::string(StatusCodeName(code));
  }
  return Status(code, std::move(message));
}

}  // namespace ses::client
