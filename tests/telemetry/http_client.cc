#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace ses::testing {

namespace {

constexpr int kTimeoutSeconds = 30;

int Connect(uint16_t port, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  timeval tv{kTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data, std::string& error) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return true;
}

void Parse(HttpResult& r) {
  size_t head_end = r.raw.find("\r\n\r\n");
  if (head_end == std::string::npos || !r.raw.starts_with("HTTP/1.1 ")) return;
  r.status = std::atoi(r.raw.c_str() + 9);
  r.body = r.raw.substr(head_end + 4);
  size_t pos = r.raw.find("\r\n") + 2;
  while (pos < head_end) {
    size_t end = r.raw.find("\r\n", pos);
    std::string line = r.raw.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = end + 2;
  }
}

}  // namespace

HttpResult SendRaw(uint16_t port, const std::string& request) {
  HttpResult r;
  int fd = Connect(port, r.error);
  if (fd < 0) return r;
  if (!SendAll(fd, request, r.error)) {
    ::close(fd);
    return r;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error = std::string("recv: ") + std::strerror(errno);
      ::close(fd);
      Parse(r);
      return r;
    }
    if (n == 0) break;
    r.raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  r.io_ok = true;
  Parse(r);
  return r;
}

HttpResult Get(uint16_t port, const std::string& path) {
  return SendRaw(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

bool SendAndHangUp(uint16_t port, const std::string& partial) {
  std::string error;
  int fd = Connect(port, error);
  if (fd < 0) return false;
  bool ok = SendAll(fd, partial, error);
  ::close(fd);
  return ok;
}

}  // namespace ses::testing
