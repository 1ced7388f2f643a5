#include "config.h"

#include <cstdint>
#include <limits>


namespace ses::pkcs11 {
namespace {

// Config text as it may appear in a message: control bytes become '?'.
std::string Printable(std::string_view s) {
  std::string out(s.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// A decimal number in [min, max], nothing else (no sign, spaces or suffix).
StatusOr<uint64_t> ParseNumber(const std::string& key, const std::string& value, uint64_t min,
                               uint64_t max) {
  auto bad = [&] {
    return InvalidArgumentError("pkcs11: config key '" + key + "' must be a whole number from " +
                                std::to_string(min) + " to " + std::to_string(max) + ", not '" +
                                Printable(value) + "'");
  };
  if (value.empty() || value.size() > 12) return bad();
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n < min || n > max) return bad();
  return n;
}

}  // namespace

std::string_view MechanismName(Mechanism m) {
  switch (m) {
    case Mechanism::kAuto: return "auto";
    case Mechanism::kAesKeyWrapPad: return "aes-key-wrap-pad";
    case Mechanism::kAesKeyWrap: return "aes-key-wrap";
    case Mechanism::kAesGcm: return "aes-gcm";
    case Mechanism::kRsaOaep: return "rsa-oaep";
  }
  return "?";
}

StatusOr<Pkcs11Config> ParsePkcs11Config(const PluginConfig& config) {
  Pkcs11Config c;
  for (const auto& [key, value] : config) {
    if (key == "module") {
      if (value.empty() || value.front() != '/') {
        return InvalidArgumentError("pkcs11: config key 'module' must be an absolute path, not '" +
                                    Printable(value) + "'");
      }
      c.module = value;
    } else if (key == "pin_env") {
      if (value.empty() || value.find('=') != std::string::npos) {
        return InvalidArgumentError("pkcs11: config key 'pin_env' must name an environment variable");
      }
      c.pin_env = value;
    } else if (key == "pin_file") {
      if (value.empty()) return InvalidArgumentError("pkcs11: config key 'pin_file' is empty");
      c.pin_file = value;
    } else if (key == "pool_size") {
      SES_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(key, value, 1, 1024));
      c.pool_size = static_cast<size_t>(n);
    } else if (key == "session_wait_ms") {
      SES_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(key, value, 0, 3'600'000));
      c.session_wait = std::chrono::milliseconds(n);
    } else if (key == "retries") {
      SES_ASSIGN_OR_RETURN(uint64_t n, ParseNumber(key, value, 0, 10));
      c.retries = static_cast<int>(n);
    } else if (key == "mechanism") {
      bool known = false;
      for (Mechanism m : {Mechanism::kAuto, Mechanism::kAesKeyWrapPad, Mechanism::kAesKeyWrap,
                          Mechanism::kAesGcm, Mechanism::kRsaOaep}) {
        if (value == MechanismName(m)) {
          c.mechanism = m;
          known = true;
        }
      }
      if (!known) {
        return InvalidArgumentError("pkcs11: config key 'mechanism' must be auto, aes-key-wrap-pad, "
                                    "aes-key-wrap, aes-gcm or rsa-oaep, not '" +
                                    Printable(value) + "'");
      }
    } else {
      return InvalidArgumentError("pkcs11: unknown config key '" + Printable(key) + "'");
    }
  }
  return c;
}

}  // namespace ses::pkcs11
