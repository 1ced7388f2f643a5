// libFuzzer target: the telemetry listener's request-head parser, fed
// arbitrary bytes twice over: as a whole, and cut where the listener would
// cut it (at the first empty line, FindHeadEnd). Beyond "no crash, no
// sanitizer report" it checks what the router relies on: an accepted head has
// a method of upper-case letters and a path that starts with '/', with no
// CR, LF or other control bytes in any field; a refused head leaves the output
// untouched and names its fault; the same input always gives the same answer;
// and the size limit is applied exactly (a head of N bytes passes a limit of
// N and gets 431 at N - 1).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "telemetry/http_request.h"

using ses::telemetry::FindHeadEnd;
using ses::telemetry::HeadParseResult;
using ses::telemetry::HttpRequest;
using ses::telemetry::ParseRequestHead;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool HasControlByte(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool SameRequest(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query;
}

void CheckHead(std::string_view head) {
  HttpRequest first;
  const HeadParseResult r = ParseRequestHead(head, head.size(), &first);

  // Deterministic: a second parse into a fresh request gives the same answer.
  HttpRequest second;
  Check(ParseRequestHead(head, head.size(), &second) == r);
  Check(SameRequest(first, second));

  if (r.ok()) {
    Check(r.error.empty());
    Check(!first.method.empty());
    for (char c : first.method) Check(c >= 'A' && c <= 'Z');
    Check(!first.path.empty() && first.path.front() == '/');
    Check(first.path.find('?') == std::string::npos);
    Check(!HasControlByte(first.path) && !HasControlByte(first.query));
    Check(first.path.find(' ') == std::string::npos && first.query.find(' ') == std::string::npos);
    // The fields come from the request line, in order.
    std::string target = first.path;
    if (head.find('?') < head.find('\n')) target += "?" + first.query;
    Check(head.starts_with(first.method + " " + target + " HTTP/1."));
  } else {
    Check(r.status == 400 || r.status == 505);  // 431 only past the limit
    Check(!r.error.empty() && r.error.back() == '\n');
    Check(SameRequest(first, HttpRequest{}));  // untouched on failure
  }

  // The limit is inclusive: one byte less and the same head is too large.
  if (!head.empty()) {
    HttpRequest untouched;
    const HeadParseResult small = ParseRequestHead(head, head.size() - 1, &untouched);
    Check(small.status == 431 && SameRequest(untouched, HttpRequest{}));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckHead(in);

  // What the listener hands the parser: the bytes up to the first empty line.
  auto [end, found] = FindHeadEnd(in.begin(), in.end());
  if (found) {
    Check(end > in.begin() && end <= in.end() && end[-1] == '\n');
    std::string_view head = in.substr(0, static_cast<size_t>(end - in.begin()));
    if (head.size() != in.size()) CheckHead(head);
    // Cut there, the head ends exactly at its end, so only its content can
    // make it fail.
    HttpRequest out;
    Check(ParseRequestHead(head, head.size(), &out).error != "request head does not end with an empty line\n");
  } else {
    HttpRequest out;
    Check(ParseRequestHead(in, in.size(), &out).status == 400);
  }
  return 0;
}
