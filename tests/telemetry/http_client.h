// A blocking HTTP/1.1 client over plain sockets, for telemetry tests: sends
// raw bytes to 127.0.0.1, reads to end of stream, splits the response.
// Every socket has a generous receive timeout so a broken server fails the
// test instead of hanging it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ses::testing {

struct HttpResult {
  bool io_ok = false;     // connected, sent, read to EOF
  std::string error;      // what went wrong when !io_ok
  int status = 0;         // 0 if nothing parseable came back
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw;
};

// Sends `request` verbatim and reads until the server closes.
HttpResult SendRaw(uint16_t port, const std::string& request);
// "GET path HTTP/1.1" with Host and Connection: close.
HttpResult Get(uint16_t port, const std::string& path);

// Connects and sends `partial`, then closes without reading.
bool SendAndHangUp(uint16_t port, const std::string& partial);

}  // namespace ses::testing
