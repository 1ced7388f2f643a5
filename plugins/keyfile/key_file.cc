#include "key_file.h"

#include <string>

namespace ses::keyfile {
namespace {

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes exactly kMasterKeyBytes * 2 hex digits straight into `key`, so no
// second copy of the key text exists.
bool DecodeKeyHex(std::string_view hex, SecretBytes& key) {
  if (hex.size() != kMasterKeyBytes * 2) return false;
  key = SecretBytes(kMasterKeyBytes);
  for (size_t i = 0; i < kMasterKeyBytes; ++i) {
    int hi = HexValue(static_cast<uint8_t>(hex[2 * i]));
    int lo = HexValue(static_cast<uint8_t>(hex[2 * i + 1]));
    if (hi < 0 || lo < 0) {
      key.clear();
      return false;
    }
    key.data()[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

Status LineError(std::string_view path, size_t line, std::string_view what) {
  return FailedPreconditionError("keyfile: " + std::string(path) + " line " +
                                 std::to_string(line) + ": " + std::string(what));
}

}  // namespace

const KeyVersion* KeyFile::Find(uint32_t number) const {
  for (const KeyVersion& v : versions) {
    if (v.number == number) return &v;
  }
  return nullptr;
}

bool ParseVersionNumber(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return false;
  uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  out = n;
  return true;
}

StatusOr<KeyFile> ParseKeyFile(std::string_view path, std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  KeyFile file;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t end = text.find('\n', pos);
    // A missing final newline is tolerated; an empty line is not.
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line_no == 1) {
      if (line != kKeyFileHeader) {
        return LineError(path, 1, "expected '" + std::string(kKeyFileHeader) + "'");
      }
      continue;
    }
    size_t space = line.find(' ');
    uint32_t number = 0;
    KeyVersion v;
    if (space == std::string_view::npos || !ParseVersionNumber(line.substr(0, space), number) ||
        !DecodeKeyHex(line.substr(space + 1), v.key)) {
      return LineError(path, line_no, "expected '<version> <64 hex digits>'");
    }
    if (!file.versions.empty() && number <= file.versions.back().number) {
      return LineError(path, line_no, "version " + std::to_string(number) +
                                          " does not follow version " +
                                          std::to_string(file.versions.back().number));
    }
    v.number = number;
    file.versions.push_back(std::move(v));
  }
  if (line_no == 0) return LineError(path, 1, "expected '" + std::string(kKeyFileHeader) + "'");
  if (file.versions.empty()) {
    return FailedPreconditionError("keyfile: " + std::string(path) + " holds no key versions");
  }
  return file;
}

SecretBytes SerializeKeyFile(const KeyFile& file) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  size_t size = kKeyFileHeader.size() + 1;
  for (const KeyVersion& v : file.versions) {
    size += std::to_string(v.number).size() + 1 + v.key.size() * 2 + 1;
  }
  SecretBytes out(size);
  uint8_t* p = out.data();
  auto put = [&p](std::string_view s) {
    for (char c : s) *p++ = static_cast<uint8_t>(c);
  };
  put(kKeyFileHeader);
  put("\n");
  for (const KeyVersion& v : file.versions) {
    put(std::to_string(v.number));
    put(" ");
    for (uint8_t b : v.key.span()) {
      *p++ = static_cast<uint8_t>(kHexDigits[b >> 4]);
      *p++ = static_cast<uint8_t>(kHexDigits[b & 0xf]);
    }
    put("\n");
  }
  return out;
}

}  // namespace ses::keyfile
