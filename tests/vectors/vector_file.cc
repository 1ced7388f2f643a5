#include "vector_file.h"

#include <sstream>

#include "util/bytes.h"

namespace ses::testing {

using internal::HexDecode;
using internal::HexEncode;

std::string FormatVector(const Vector& v) {
  std::ostringstream o;
  o << "# SES envelope v1 known-answer vector (docs/format.md).\n"
    << "# Made by tests/vectors/make_vectors.cc; tests/vectors/vectors_test.cc decrypts it.\n"
    << "name = " << v.name << "\n"
    << "description = " << v.description << "\n";
  for (const auto& k : v.keys) o << "key = " << k.file << " " << k.version << " " << k.hex << "\n";
  o << "keyring_mode = " << (v.mode == KeyringMode::kAll ? "all" : "any") << "\n";
  for (const auto& u : v.keyring_keys) o << "keyring_key = " << u << "\n";
  for (const auto& [k, val] : v.context) o << "context = " << k << "=" << val << "\n";
  o << "plaintext = " << HexEncode(v.plaintext) << "\n"
    << "ciphertext = " << HexEncode(v.ciphertext) << "\n";
  return o.str();
}

bool ParseVector(const std::string& text, Vector& v, std::string& error) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find(" = ");
    if (eq == std::string::npos) {
      error = "line " + std::to_string(n) + ": expected 'name = value'";
      return false;
    }
    std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    bool ok = true;
    if (key == "name") {
      v.name = value;
    } else if (key == "description") {
      v.description = value;
    } else if (key == "key") {
      std::istringstream parts(value);
      KeyFileVersion k;
      ok = static_cast<bool>(parts >> k.file >> k.version >> k.hex) && k.hex.size() == 64;
      v.keys.push_back(k);
    } else if (key == "keyring_mode") {
      v.mode = value == "all" ? KeyringMode::kAll : KeyringMode::kAny;
    } else if (key == "keyring_key") {
      v.keyring_keys.push_back(value);
    } else if (key == "context") {
      size_t e = value.find('=');
      ok = e != std::string::npos;
      if (ok) v.context[value.substr(0, e)] = value.substr(e + 1);
    } else if (key == "plaintext") {
      ok = HexDecode(value, v.plaintext);
    } else if (key == "ciphertext") {
      ok = HexDecode(value, v.ciphertext);
    } else {
      ok = false;
    }
    if (!ok) {
      error = "line " + std::to_string(n) + ": bad '" + key + "'";
      return false;
    }
  }
  if (v.keys.empty() || v.keyring_keys.empty() || v.ciphertext.empty()) {
    error = "missing keys, keyring or ciphertext";
    return false;
  }
  return true;
}

}  // namespace ses::testing
