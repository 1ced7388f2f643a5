// The known-answer vector files in tests/vectors/*.vec: a line-based text
// format ("name = value", '#' comments) holding master keys, a keyring, a
// context, a plaintext and the ciphertext SES produced for it.
#pragma once

#include <string>
#include <vector>

#include "ses/envelope.h"

namespace ses::testing {

struct KeyFileVersion {
  std::string file;     // key file name, e.g. "a.key"
  int version = 0;
  std::string hex;      // 64 hex characters
};

struct Vector {
  std::string name;
  std::string description;
  std::vector<KeyFileVersion> keys;
  KeyringMode mode = KeyringMode::kAny;
  std::vector<std::string> keyring_keys;  // URIs
  EncryptionContext context;
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> ciphertext;
};

std::string FormatVector(const Vector& v);
// Returns false (and sets `error`) on a malformed file.
bool ParseVector(const std::string& text, Vector& v, std::string& error);

}  // namespace ses::testing
