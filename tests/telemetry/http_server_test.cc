// HttpServer over a real loopback socket: routing, methods, limits, bad
// clients, binding errors.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "http_client.h"
#include "telemetry/http_server.h"

namespace ses::telemetry {
namespace {

using ses::testing::Get;
using ses::testing::SendAndHangUp;
using ses::testing::SendRaw;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(options);
    server_->Handle("/hello", [](const HttpRequest& req) {
      return HttpResponse{200, "text/plain; charset=utf-8", "hello " + req.query + "\n"};
    });
    server_->Handle("/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("handler bug"); });
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  uint16_t port() const { return server_->port(); }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRegisteredPathWithHeaders) {
  StartServer();
  auto r = Get(port(), "/hello?who=me");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello who=me\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], "13");
  EXPECT_EQ(r.headers["connection"], "close");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  StartServer();
  auto r = Get(port(), "/nope");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 404);
}

TEST_F(HttpServerTest, PostIs405WithAllowHeader) {
  StartServer();
  auto r = SendRaw(port(), "POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
}

TEST_F(HttpServerTest, OversizeRequestHeadIsRefused) {
  StartServer();
  std::string big = "GET /hello HTTP/1.1\r\nX-Filler: " + std::string(16 * 1024, 'a') + "\r\n\r\n";
  auto r = SendRaw(port(), big);
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 431);
  // Just under the limit is still served.
  std::string fits = "GET /hello HTTP/1.1\r\nX-Filler: " + std::string(7 * 1024, 'a') + "\r\n\r\n";
  r = SendRaw(port(), fits);
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsGet400) {
  StartServer();
  for (const char* bad : {"\x01\x02garbage\r\n\r\n", "GET\r\n\r\n", "GET /hello\r\n\r\n", "get /hello HTTP/1.1\r\n\r\n",
                          "GET hello HTTP/1.1\r\n\r\n", "GET /hello HTTP/1.1\r\nno colon here\r\n\r\n",
                          "GET /hello FTP/1.0\r\n\r\n"}) {
    auto r = SendRaw(port(), bad);
    ASSERT_TRUE(r.io_ok) << r.error;
    EXPECT_EQ(r.status, 400) << "request: " << bad;
  }
  auto r = SendRaw(port(), "GET /hello HTTP/2.0\r\n\r\n");
  EXPECT_EQ(r.status, 505);
}

TEST_F(HttpServerTest, BareLineFeedsAreTolerated) {
  StartServer();
  auto r = SendRaw(port(), "GET /hello HTTP/1.0\nHost: x\n\n");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, ThrowingHandlerGives500AndServerCarriesOn) {
  StartServer();
  auto r = Get(port(), "/boom");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("handler bug"), std::string::npos);  // no internals leak
  EXPECT_EQ(Get(port(), "/hello").status, 200);
}

TEST_F(HttpServerTest, KeepsServingAfterClientsHangUpMidRequest) {
  StartServer();
  ASSERT_TRUE(SendAndHangUp(port(), "GET /hel"));
  ASSERT_TRUE(SendAndHangUp(port(), std::string("\xff\xfe\x00garbage", 10)));
  ASSERT_TRUE(SendAndHangUp(port(), ""));
  for (int i = 0; i < 3; ++i) {
    auto r = Get(port(), "/hello");
    ASSERT_TRUE(r.io_ok) << r.error;
    EXPECT_EQ(r.status, 200);
  }
}

TEST_F(HttpServerTest, SilentClientIsDisconnectedByTheDeadline) {
  HttpServerOptions o;
  o.request_timeout = std::chrono::milliseconds(100);
  StartServer(o);
  // An unfinished head: the server must close on its own; the client waits
  // for the close (up to its 30 s receive timeout), not for a fixed time.
  auto r = SendRaw(port(), "GET /hello HTTP/1.1\r\n");
  EXPECT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.raw, "");
  EXPECT_EQ(Get(port(), "/hello").status, 200);
}

TEST_F(HttpServerTest, StopIsCleanAndIdempotent) {
  StartServer();
  ASSERT_EQ(Get(port(), "/hello").status, 200);
  server_->Stop();
  server_->Stop();
  auto r = Get(port(), "/hello");
  EXPECT_FALSE(r.io_ok);  // nothing listens any more
}

TEST_F(HttpServerTest, StopClosesConnectionsThatAreStillOpen) {
  HttpServerOptions o;
  o.request_timeout = std::chrono::hours(1);  // only Stop can end the exchange
  StartServer(o);
  ses::testing::HttpResult r;
  std::thread client([&] { r = SendRaw(port(), "GET /hello HTTP/1.1\r\n"); });
  server_->Stop();
  client.join();  // the client saw the connection end (closed or reset)
  EXPECT_EQ(r.status, 0);
}

TEST_F(HttpServerTest, StartTwiceAndHandleAfterStartAreRefused) {
  StartServer();
  EXPECT_EQ(server_->Start().code(), StatusCode::kFailedPrecondition);
  EXPECT_THROW(server_->Handle("/late", [](const HttpRequest&) { return HttpResponse{}; }), std::logic_error);
}

TEST(HttpServerBindTest, PortInUseNamesAddressAndReason) {
  HttpServer first(HttpServerOptions{});
  ASSERT_TRUE(first.Start().ok());
  HttpServerOptions o;
  o.port = first.port();
  HttpServer second(o);
  Status s = second.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Address already in use"), std::string::npos) << s.message();
  EXPECT_EQ(second.port(), 0);
}

TEST(HttpServerBindTest, AddressThatIsNotAnIpIsInvalid) {
  HttpServerOptions o;
  o.address = "metrics.example";
  HttpServer server(o);
  Status s = server.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("metrics.example"), std::string::npos) << s.message();
}

TEST(HttpServerBindTest, LocalhostAndBracketedAddressesWork) {
  for (const char* address : {"localhost", "[127.0.0.1]"}) {
    HttpServerOptions o;
    o.address = address;
    HttpServer server(o);
    server.Handle("/x", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "x"}; });
    Status s = server.Start();
    ASSERT_TRUE(s.ok()) << address << ": " << s.ToString();
    EXPECT_EQ(ses::testing::Get(server.port(), "/x").body, "x");
  }
}

}  // namespace
}  // namespace ses::telemetry
