#include "telemetry/http_server.h"

#include <map>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "telemetry/http_request.h"

namespace ses::telemetry {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

const char* HttpReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

namespace {

// After the response, read and discard at most this much before closing, so
// the client sees the response rather than a reset caused by unread input.
constexpr size_t kMaxDrainBytes = 64 * 1024;

using HeadIterator = asio::buffers_iterator<asio::streambuf::const_buffers_type>;

// The end of the request head. On no match it hands back `begin`, so Asio
// rescans from the start next time: the head is small.
std::pair<HeadIterator, bool> MatchHeadEnd(HeadIterator begin, HeadIterator end) {
  return FindHeadEnd(begin, end);
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

class Connection;

// Everything the listener owns; touched only on the io thread once started.
struct ServerCore {
  explicit ServerCore(HttpServerOptions o) : options(std::move(o)) {}

  void Accept();
  HttpResponse Dispatch(std::string_view head) const;
  void CloseAll();

  const HttpServerOptions options;
  std::map<std::string, HttpHandler, std::less<>> routes;  // read-only once started
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::unordered_set<Connection*> connections;
  std::thread thread;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

// One request, one response, then a lingering close. Lives as long as an
// operation of its own is pending.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), deadline_(server.io), head_(server.options.max_header_bytes) {}
  ~Connection() { server_.connections.erase(this); }

  void Start() {
    server_.connections.insert(this);
    deadline_.expires_after(server_.options.request_timeout);
    deadline_.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;  // cancelled: the exchange finished in time
      if (auto self = weak.lock()) self->Close();
    });
    asio::async_read_until(socket_, head_, MatchHeadEnd,
                           [self = shared_from_this()](error_code ec, size_t n) { self->OnHead(ec, n); });
  }

  void Close() {
    error_code ignored;
    socket_.close(ignored);
    deadline_.cancel();
  }

 private:
  void OnHead(error_code ec, size_t n) {
    if (ec == asio::error::not_found) {  // the buffer filled up without a blank line
      Respond(Text(431, "request header too large\n"));
      return;
    }
    if (ec) {
      Close();
      return;
    }
    std::string_view head(static_cast<const char*>(head_.data().data()), n);
    Respond(server_.Dispatch(head));
  }

  void Respond(const HttpResponse& r) {
    out_ = "HTTP/1.1 " + std::to_string(r.status) + " " + HttpReasonPhrase(r.status) + "\r\n";
    out_ += "Content-Type: " + r.content_type + "\r\n";
    out_ += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (r.status == 405) out_ += "Allow: GET\r\n";
    out_ += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    out_ += r.body;
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) {
        self->Close();
        return;
      }
      error_code ignored;
      self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
      self->Drain();
    });
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) {
        self->Close();
        return;
      }
      self->Drain();
    });
  }

  ServerCore& server_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  asio::streambuf head_;
  std::string out_;
  char drain_[4096];
  size_t drained_ = 0;
};

void ServerCore::Accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors or similar: back off rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](error_code e) {
        if (!e && !stopped) Accept();
      });
      return;
    }
    if (connections.size() >= options.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(*this, std::move(socket))->Start();
    }
    Accept();
  });
}

void ServerCore::CloseAll() {
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  std::vector<Connection*> open(connections.begin(), connections.end());
  for (Connection* c : open) c->Close();
}

HttpResponse ServerCore::Dispatch(std::string_view head) const {
  HttpRequest request;
  HeadParseResult parsed = ParseRequestHead(head, options.max_header_bytes, &request);
  if (!parsed.ok()) return Text(parsed.status, std::string(parsed.error));

  auto route = routes.find(request.path);
  if (route == routes.end()) return Text(404, "not found\n");
  if (request.method != "GET") return Text(405, "only GET is allowed\n");
  try {
    return route->second(request);
  } catch (...) {
    return Text(500, "internal error\n");
  }
}

// The listen address as a typed address, or kInvalidArgument.
StatusOr<asio::ip::address> ParseAddress(const std::string& text) {
  std::string_view s = text;
  if (s == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(s), ec);
  if (ec) {
    return InvalidArgumentError("telemetry listen address '" + text +
                                "' is not an IP address (use e.g. 0.0.0.0, ::, 127.0.0.1 or localhost)");
  }
  return a;
}

std::string FormatEndpoint(const asio::ip::address& a, uint16_t port) {
  std::string host = a.to_string();
  if (a.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : core(std::move(o)) {}
  ServerCore core;
};

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, HttpHandler handler) {
  if (impl_->core.started) throw std::logic_error("HttpServer::Handle after Start");
  impl_->core.routes[std::move(path)] = std::move(handler);
}

Status HttpServer::Start() {
  ServerCore& c = impl_->core;
  if (c.started) return FailedPreconditionError("telemetry listener already started");
  SES_ASSIGN_OR_RETURN(asio::ip::address address, ParseAddress(c.options.address));
  const std::string where = FormatEndpoint(address, c.options.port);
  tcp::endpoint endpoint(address, c.options.port);

  error_code ec;
  c.acceptor.open(endpoint.protocol(), ec);
  if (ec) return UnavailableError("telemetry listener " + where + ": cannot open a socket: " + ec.message());
  c.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) c.acceptor.bind(endpoint, ec);
  if (ec) {
    error_code ignored;
    c.acceptor.close(ignored);
    return UnavailableError("telemetry listener: cannot bind " + where + ": " + ec.message());
  }
  c.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    c.acceptor.close(ignored);
    return UnavailableError("telemetry listener: cannot listen on " + where + ": " + ec.message());
  }
  tcp::endpoint bound = c.acceptor.local_endpoint(ec);
  c.port = ec ? c.options.port : bound.port();

  c.started = true;
  c.Accept();
  c.thread = std::thread([&c] {
    // Handlers catch their own exceptions; this keeps the loop alive if
    // one escapes anyway.
    for (;;) {
      try {
        c.io.run();
        return;
      } catch (...) {
      }
    }
  });
  return OkStatus();
}

void HttpServer::Stop() {
  ServerCore& c = impl_->core;
  if (!c.thread.joinable()) return;
  // Closing everything leaves the io_context without work, so run() returns.
  asio::post(c.io, [&c] { c.CloseAll(); });
  c.thread.join();
}

uint16_t HttpServer::port() const { return impl_->core.port; }

}  // namespace ses::telemetry
