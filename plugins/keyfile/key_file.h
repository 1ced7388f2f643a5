// The keyfile text format: parsing and writing the versions of one master key.
//
//   ses-keyfile v1
//   1 <64 hex digits>
//   2 <64 hex digits>
//
// Versions are positive decimals without leading zeros, strictly increasing;
// the last line is the current version. Parsing is strict and its errors name
// the file and the line number, never the line's contents (which may hold key
// bytes). Key bytes are only ever held in SecretBytes, including the text form.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::keyfile {

inline constexpr std::string_view kKeyFileHeader = "ses-keyfile v1";
inline constexpr size_t kMasterKeyBytes = 32;  // AES-256
// Keeps version numbers in 9 decimal digits, well inside uint32_t.
inline constexpr uint32_t kMaxKeyVersion = 999'999'999;

struct KeyVersion {
  uint32_t number = 0;
  SecretBytes key;  // kMasterKeyBytes
};

// All versions of one master key, oldest first; never empty once parsed.
struct KeyFile {
  std::vector<KeyVersion> versions;

  const KeyVersion& current() const { return versions.back(); }
  // nullptr if the file has no such version.
  const KeyVersion* Find(uint32_t number) const;
};

// Parses `text`; `path` only labels errors (kFailedPrecondition).
StatusOr<KeyFile> ParseKeyFile(std::string_view path, std::span<const uint8_t> text);

// The text form of `file`, in a buffer that wipes itself.
SecretBytes SerializeKeyFile(const KeyFile& file);

// Parses a canonical version number ("1", "42"; not "01", "+1", "0").
bool ParseVersionNumber(std::string_view s, uint32_t& out);

}  // namespace ses::keyfile
