// Store: versioned metadata records (keyrings, key versions, clients,
// policies, the audit chain) that stateless sesd nodes share.
//
// A record is addressed by a namespace `ns` and a `key` and holds opaque
// bytes and a version. Versions start at 1 for a new record and grow by one
// with every write, so a read-modify-write is a compare-and-set: Put succeeds
// only if the stored version still equals the one read.
//
// Contract (every implementation; tests/store/store_conformance.h checks it):
//  - Get of an absent record is kNotFound.
//  - Put(expected_version = 0) creates and fails if the record exists;
//    Put(expected_version = N) replaces version N. A mismatch is
//    kFailedPrecondition whose message names ns, key, the expected and the
//    stored version (0 when absent). Success returns the new version.
//  - Remove of an absent record is kNotFound. A record created again after a
//    Remove starts at version 1 again.
//  - List returns the keys of `ns` that start with `prefix` (byte-wise, no
//    wildcards), sorted byte-wise ascending; an empty prefix lists the whole
//    namespace; nothing found is an empty list, not an error.
//  - Limits, checked by the implementation (see ValidateStoreName): ns and
//    key are 1 to kMaxStoreNameBytes bytes of UTF-8 without control
//    characters; a prefix is the same but may be empty; a value is at most
//    kMaxStoreValueBytes bytes and may hold any bytes, NUL included. A
//    violation is kInvalidArgument.
//  - Busy or unreachable backends are kUnavailable (retry later); messages
//    name the backend call and where it lives, never record values.
//
// Thread safety: every method may be called from many threads at once; each
// call is atomic (a concurrent Put never tears a record, and of two CAS Puts
// from the same version exactly one succeeds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ses/status.h"

namespace ses {

inline constexpr size_t kMaxStoreNameBytes = 256;
inline constexpr size_t kMaxStoreValueBytes = size_t{1} << 20;

struct StoreRecord {
  std::string value;     // opaque bytes
  uint64_t version = 0;  // >= 1
};

class Store {
 public:
  virtual ~Store() = default;

  virtual StatusOr<StoreRecord> Get(std::string_view ns, std::string_view key) = 0;

  // REQUIRES: expected_version is 0 (create) or the version last read.
  virtual StatusOr<uint64_t> Put(std::string_view ns, std::string_view key, std::string_view value,
                                 uint64_t expected_version) = 0;

  virtual Status Remove(std::string_view ns, std::string_view key) = 0;

  virtual StatusOr<std::vector<std::string>> List(std::string_view ns, std::string_view prefix) = 0;

  // A cheap probe that the backend answers.
  virtual Status Health() = 0;
};

// Checks a namespace, key or prefix (`what` names it in the message) against
// the limits above: 1..kMaxStoreNameBytes bytes (0 allowed when
// `allow_empty`), well-formed UTF-8 (no overlongs or surrogates), no ASCII
// control characters. The message never repeats the input, which may be
// garbage. Header-only so plugins use it without linking the core.
inline Status ValidateStoreName(std::string_view what, std::string_view s, bool allow_empty = false) {
  if ((s.empty() && !allow_empty) || s.size() > kMaxStoreNameBytes) {
    return InvalidArgumentError(std::string(what) + " must be " + (allow_empty ? "0" : "1") + " to " +
                                std::to_string(kMaxStoreNameBytes) + " bytes (got " +
                                std::to_string(s.size()) + ")");
  }
  auto bad = [&](size_t at, const char* why) {
    return InvalidArgumentError(std::string(what) + " " + why + " at byte " + std::to_string(at));
  };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return bad(i, "has a control character");
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return bad(i, "is not UTF-8");
    }
    if (s.size() - i <= n) return bad(i, "is not UTF-8");
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return bad(i, "is not UTF-8");
      cp = (cp << 6) | (cc & 0x3f);
    }
    bool overlong = (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return bad(i, "is not UTF-8");
    if (cp >= 0x80 && cp <= 0x9f) return bad(i, "has a control character");
    i += n + 1;
  }
  return OkStatus();
}

inline Status ValidateStoreValue(std::string_view value) {
  if (value.size() > kMaxStoreValueBytes) {
    return InvalidArgumentError("value must be at most " + std::to_string(kMaxStoreValueBytes) +
                                " bytes (got " + std::to_string(value.size()) + ")");
  }
  return OkStatus();
}

}  // namespace ses
