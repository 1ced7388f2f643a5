#include "telemetry/http_request.h"

namespace ses::telemetry {
namespace {

constexpr HeadParseResult Fail(int status, std::string_view body) { return {status, body}; }

bool IsTokenChar(char c) { return c >= 'A' && c <= 'Z'; }  // methods are upper-case tokens

}  // namespace

HeadParseResult ParseRequestHead(std::string_view head, size_t max_header_bytes, HttpRequest* out) {
  if (head.size() > max_header_bytes) return Fail(431, "request header too large\n");
  // The listener only ever passes a whole head; anything else is refused
  // rather than guessed at.
  if (FindHeadEnd(head.begin(), head.end()) != std::pair{head.end(), true}) {
    return Fail(400, "request head does not end with an empty line\n");
  }

  // A head end exists, so the request line has a line break after it.
  size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  if (line.ends_with('\r')) line.remove_suffix(1);

  // request-line = method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(400, "malformed request line\n");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty()) return Fail(400, "malformed request line\n");
  for (char c : method) {
    if (!IsTokenChar(c)) return Fail(400, "malformed request method\n");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return version.starts_with("HTTP/") ? Fail(505, "only HTTP/1.0 and HTTP/1.1 are served\n")
                                        : Fail(400, "malformed HTTP version\n");
  }
  if (target.empty() || target.front() != '/') return Fail(400, "request target must be a path\n");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return Fail(400, "malformed request target\n");
  }
  // Each header line needs a name and a colon; the values are not used.
  for (size_t pos = eol + 1; pos < head.size();) {
    size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view h = head.substr(pos, end - pos);
    if (h.ends_with('\r')) h.remove_suffix(1);
    if (!h.empty() && (h.find(':') == std::string_view::npos || h.front() == ':' || h.front() == ' ' ||
                       h.front() == '\t')) {
      return Fail(400, "malformed header line\n");
    }
    pos = end + 1;
  }

  size_t q = target.find('?');
  out->method = std::string(method);
  out->path = std::string(target.substr(0, q));
  out->query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  return {};
}

}  // namespace ses::telemetry
