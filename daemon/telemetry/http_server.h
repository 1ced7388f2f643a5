// HttpServer: a small HTTP/1.1 listener for telemetry (/metrics, /healthz,
// /readyz), on Boost.Asio with one thread of its own.
//
// It answers GET only (other methods: 405), one request per connection
// (every response says Connection: close), routes by exact path with the
// query string ignored (unknown path: 404). A request head larger than
// max_header_bytes gets 431 and the connection is closed; a malformed one
// gets 400 (ParseRequestHead in http_request.h has the rules). Each
// connection has a deadline (request_timeout) covering the whole exchange, so
// a slow or silent client cannot hold a slot, and at most max_connections
// are open at once (more are closed on accept).
//
// Handlers run on the server's thread, one at a time: a slow handler delays
// every other request, so handlers that call out (readiness) cache.
// A handler that throws produces 500.
//
// Thread safety: Handle() before Start(); Start(), Stop() and port() from
// any one thread. The destructor stops the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ses/status.h"
#include "telemetry/http_request.h"  // HttpRequest

namespace ses::telemetry {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  // An IP literal ("0.0.0.0", "::", "127.0.0.1", "[::1]") or "localhost".
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks one; see HttpServer::port()
  size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds request_timeout{5000};
  size_t max_connections = 64;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes GET `path` to `handler`, replacing an earlier one.
  // Throws std::logic_error once the server has started.
  void Handle(std::string path, HttpHandler handler);

  // Binds, listens and starts the thread. kInvalidArgument for an address
  // that is not an IP literal; kUnavailable naming the address and the
  // system's reason when it cannot bind or listen; kFailedPrecondition if
  // already started. A server starts at most once.
  Status Start();
  // Closes the listener and every connection, then joins the thread.
  // Idempotent. A handler already running finishes first.
  void Stop();

  // The bound port (the real one when options.port was 0); 0 before Start.
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "OK", "Not Found", ...; "Unknown" for codes it does not list.
const char* HttpReasonPhrase(int status);

}  // namespace ses::telemetry
