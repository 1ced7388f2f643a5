#include "config/values.h"

#include <arpa/inet.h>

#include <cctype>
#include <vector>

namespace ses::internal {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

std::vector<std::string> Words(std::string_view key) {
  std::vector<std::string> words(1);
  for (char c : Lower(key)) {
    if (c == '_' || c == '-') {
      if (!words.back().empty()) words.emplace_back();
    } else {
      words.back() += c;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  char prev = '.';
  for (char c : host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

}  // namespace

std::string Origin::Where() const {
  if (FromEnvironment()) return "environment " + variable;
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

Status ErrorAt(const Origin& origin, const std::string& what) {
  return InvalidArgumentError(origin.Where() + ": " + what);
}

Status BadValue(const Setting& s, const std::string& what) {
  std::string shown = s.origin.FromEnvironment() || MayNameSecret(s.key) ? "" : "'" + s.value + "' ";
  return ErrorAt(s.origin, "bad value " + shown + "for " + s.key + ": " + what);
}

bool MayNameSecret(std::string_view key) {
  std::string k = Lower(key);
  for (std::string_view word : {"pin", "password", "passphrase", "secret", "token", "credential", "key_file"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

bool HoldsSecretDirectly(std::string_view key) {
  std::vector<std::string> w = Words(key);
  if (w.empty()) return false;
  for (std::string_view secret :
       {"pin", "password", "passwd", "passphrase", "secret", "token", "credential", "credentials"}) {
    if (w.back() == secret) return true;
  }
  if (w.size() >= 2 && w.back() == "key") {
    const std::string& before = w[w.size() - 2];
    return before == "api" || before == "private" || before == "secret" || before == "access";
  }
  return false;
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

Status ParseBool(const Setting& s, bool& out) {
  if (s.value == "true" || s.value == "false") {
    out = s.value == "true";
    return OkStatus();
  }
  return BadValue(s, "expected true or false");
}

Status ParseLenientBool(const Setting& s, bool& out) {
  const std::string& v = s.value;
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off" || v == "0") {
    out = false;
  } else {
    return BadValue(s, "expected true or false");
  }
  return OkStatus();
}

Status ParseEnum(const Setting& s, std::initializer_list<std::string_view> names, size_t& index) {
  std::string list;
  size_t i = 0;
  for (std::string_view name : names) {
    if (s.value == name) {
      index = i;
      return OkStatus();
    }
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(name);
    ++i;
  }
  return BadValue(s, "expected " + list);
}

Status ParseListen(const Setting& s, ListenAddress& out) {
  const std::string& v = s.value;
  std::string host, port;
  if (!v.empty() && v[0] == '[') {
    size_t close = v.find(']');
    if (close == std::string::npos || close + 1 >= v.size() || v[close + 1] != ':') {
      return BadValue(s, "expected [IPV6]:PORT, e.g. [::1]:7443");
    }
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) return BadValue(s, "not an IPv6 address in brackets");
  } else {
    size_t colon = v.rfind(':');
    if (colon == std::string::npos) return BadValue(s, "expected HOST:PORT, e.g. 127.0.0.1:7443");
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (host.find(':') != std::string::npos) return BadValue(s, "an IPv6 address needs brackets, e.g. [::1]:7443");
    if (host.empty()) return BadValue(s, "missing host (0.0.0.0 listens on every IPv4 address)");
    bool numeric = host.find_first_not_of("0123456789.") == std::string::npos;
    in_addr a4{};
    if (numeric && ::inet_pton(AF_INET, host.c_str(), &a4) != 1) return BadValue(s, "not an IPv4 address");
    if (!numeric && !ValidHostName(host)) return BadValue(s, "not a host name or address");
  }
  unsigned n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || n > 65535) {
    return BadValue(s, "port must be 0-65535 (0: any free port)");
  }
  out.host = host;
  out.port = static_cast<uint16_t>(n);
  return OkStatus();
}

std::filesystem::path ResolvePath(const Setting& s) {
  std::filesystem::path p(s.value);
  if (p.is_relative()) p = std::filesystem::absolute(s.origin.file).parent_path() / p;
  return p;
}

}  // namespace ses::internal
