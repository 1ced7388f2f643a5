// ParseRequestHead and FindHeadEnd on their own, without sockets: the rules
// the telemetry listener applies to a request head from the network.
#include "telemetry/http_request.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ses::telemetry {
namespace {

constexpr size_t kLimit = 8 * 1024;

HeadParseResult Parse(std::string_view head, HttpRequest* out) { return ParseRequestHead(head, kLimit, out); }

TEST(HttpRequestTest, SplitsPathAndQuery) {
  HttpRequest r;
  ASSERT_TRUE(Parse("GET /metrics?name=a&b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &r).ok());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.query, "name=a&b");

  ASSERT_TRUE(Parse("HEAD /healthz HTTP/1.0\n\n", &r).ok());  // bare LF, no headers
  EXPECT_EQ(r.method, "HEAD");
  EXPECT_EQ(r.path, "/healthz");
  EXPECT_EQ(r.query, "");
}

TEST(HttpRequestTest, BadHeadsGetTheStatusAndReasonOfTheirFault) {
  struct Case {
    std::string_view head;
    int status;
    std::string_view error;
  };
  const Case cases[] = {
      {"\x01\x02garbage\r\n\r\n", 400, "malformed request line\n"},
      {"GET\r\n\r\n", 400, "malformed request line\n"},
      {"GET  /a HTTP/1.1\r\n\r\n", 400, "malformed request line\n"},
      {"GET /a HTTP/1.1 x\r\n\r\n", 400, "malformed request line\n"},
      {" /a HTTP/1.1\r\n\r\n", 400, "malformed request line\n"},
      {"get /a HTTP/1.1\r\n\r\n", 400, "malformed request method\n"},
      {"GET a HTTP/1.1\r\n\r\n", 400, "request target must be a path\n"},
      {"GET /a\x7f HTTP/1.1\r\n\r\n", 400, "malformed request target\n"},
      {"GET /a\tb HTTP/1.1\r\n\r\n", 400, "malformed request target\n"},
      {"GET /a FTP/1.0\r\n\r\n", 400, "malformed HTTP version\n"},
      {"GET /a HTTP/2.0\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served\n"},
      {"GET /a HTTP/1.1\r\nno colon here\r\n\r\n", 400, "malformed header line\n"},
      {"GET /a HTTP/1.1\r\n: empty name\r\n\r\n", 400, "malformed header line\n"},
      {"GET /a HTTP/1.1\r\n folded: x\r\n\r\n", 400, "malformed header line\n"},
      {"GET /a HTTP/1.1\r\n", 400, "request head does not end with an empty line\n"},
      {"GET /a HTTP/1.1", 400, "request head does not end with an empty line\n"},
      {"", 400, "request head does not end with an empty line\n"},
      {"GET /a HTTP/1.1\r\n\r\nHost: x\r\n\r\n", 400, "request head does not end with an empty line\n"},  // two heads
  };
  for (const Case& c : cases) {
    HttpRequest r{"untouched", "/untouched", "q"};
    HeadParseResult got = Parse(c.head, &r);
    EXPECT_EQ(got.status, c.status) << "head: " << testing::PrintToString(std::string(c.head));
    EXPECT_EQ(got.error, c.error) << "head: " << testing::PrintToString(std::string(c.head));
    EXPECT_EQ(r.method, "untouched");  // a failed parse leaves the output alone
    EXPECT_EQ(r.path, "/untouched");
    EXPECT_EQ(r.query, "q");
  }
}

TEST(HttpRequestTest, HeadLargerThanTheLimitIs431) {
  const std::string head = "GET / HTTP/1.1\r\n\r\n";
  HttpRequest r;
  EXPECT_TRUE(ParseRequestHead(head, head.size(), &r).ok());
  HeadParseResult got = ParseRequestHead(head, head.size() - 1, &r);
  EXPECT_EQ(got.status, 431);
  EXPECT_EQ(got.error, "request header too large\n");
}

TEST(HttpRequestTest, FindHeadEndStopsAtTheFirstEmptyLine) {
  auto end_of = [](std::string_view s) -> long {
    auto [it, found] = FindHeadEnd(s.begin(), s.end());
    return found ? it - s.begin() : -1;
  };
  EXPECT_EQ(end_of("GET / HTTP/1.1\r\n\r\nbody"), 18);
  EXPECT_EQ(end_of("GET / HTTP/1.1\n\nbody"), 16);
  EXPECT_EQ(end_of("GET / HTTP/1.1\nA: b\n\r\n"), 22);
  EXPECT_EQ(end_of("\n\n"), 2);
  EXPECT_EQ(end_of("GET / HTTP/1.1\r\n\r"), -1);
  EXPECT_EQ(end_of("GET / HTTP/1.1\r\r\n"), -1);  // a lone CR is not a line break
  EXPECT_EQ(end_of(""), -1);
}

}  // namespace
}  // namespace ses::telemetry
