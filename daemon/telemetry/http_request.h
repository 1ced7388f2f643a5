// The telemetry listener's request-head parser, kept apart from the sockets
// so that it can be unit-tested and fuzzed on its own: these are the bytes a
// network peer controls.
//
// FindHeadEnd finds where a request head ends; ParseRequestHead checks the
// request line and the header lines of one head and extracts what routing
// needs. Both are pure functions of their arguments: no I/O, no allocation
// beyond the strings of the result, no state; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace ses::telemetry {

struct HttpRequest {
  std::string method;  // "GET"
  std::string path;    // "/metrics", without the query
  std::string query;   // after '?', undecoded; may be empty
};

// The outcome of parsing a head: status 200 when the head is well formed,
// otherwise the HTTP status to answer with (400, 431 or 505) and the
// response body that says what was wrong (a static string, ends with '\n').
struct HeadParseResult {
  int status = 200;
  std::string_view error;
  bool ok() const { return status == 200; }
  friend bool operator==(const HeadParseResult&, const HeadParseResult&) = default;
};

// Checks one request head, `head` being everything up to and including the
// empty line that ends it (what FindHeadEnd delimits). Line breaks are CRLF
// per RFC 9112, bare LF tolerated. On success fills *out; on failure leaves
// *out untouched.
//   431  head.size() > max_header_bytes
//   400  no head end exactly at the end of `head`; a request line that is not
//        three fields separated by single spaces; a method that is not
//        upper-case letters; a target that is not a path ('/' first) or
//        holds a space, a control character or DEL; a version that does not
//        start with "HTTP/"; a header line with no colon, or one that
//        starts with ':', a space or a tab
//   505  HTTP/ versions other than 1.0 and 1.1
// Header values are not interpreted.
HeadParseResult ParseRequestHead(std::string_view head, size_t max_header_bytes, HttpRequest* out);

// Where the request head in [begin, end) ends: {one past the empty line,
// true} for the first line break followed by an empty line ("\n\n" or
// "\n\r\n"), else {begin, false}. A template so that the listener can run it
// over Asio buffer iterators, and tests over plain characters.
template <typename Iterator>
std::pair<Iterator, bool> FindHeadEnd(Iterator begin, Iterator end) {
  for (Iterator it = begin; it != end; ++it) {
    if (*it != '\n') continue;
    Iterator next = it;
    ++next;
    if (next != end && *next == '\r') ++next;
    if (next != end && *next == '\n') return {++next, true};
  }
  return {begin, false};
}

}  // namespace ses::telemetry
