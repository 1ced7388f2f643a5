// The versions of a master key: which token objects they are, how their
// CKA_IDs read as version strings, and a short-lived cache of their handles.
//
// A version is an object matching the URI's token, label and type (secret
// AES keys; for type=private-key, RSA private keys, each paired with the
// public key of the same label and CKA_ID) with a non-empty CKA_ID. Its
// version string is the lowercase hex of the CKA_ID ("00000001", or "01"
// for a key made by pkcs11-tool --id 01). Versions sort by the ID's
// big-endian numeric value; the highest is current. If the URI has id=,
// only that object is a version.
//
// Handles of token objects stay valid across sessions, so KeyCache keeps
// them for one second per pool generation: long enough that a busy service
// does not search the token on every wrap, short enough that a rotation or
// deletion made by another process is seen promptly. A recovery (new
// generation) and any stale-handle error make the caller search again.
//
// Thread safety: free functions use only the caller's lease; KeyCache may
// be used from many threads at once.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "session_pool.h"
#include "ses/status.h"
#include "uri.h"

namespace ses::pkcs11 {

struct KeyObject {
  std::vector<uint8_t> id;  // CKA_ID
  std::string version;      // lowercase hex of id
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  CK_KEY_TYPE key_type = CKK_AES;
  // RSA: the public key object with the same label and id (wraps use it).
  CK_OBJECT_HANDLE public_handle = CK_INVALID_HANDLE;
};

// Oldest first; the last is current.
using KeyVersions = std::vector<KeyObject>;

// Lowercase hex.
std::string VersionString(std::span<const uint8_t> id);
// The CKA_ID a version string names (hex, either case); kInvalidArgument
// naming the key otherwise.
StatusOr<std::vector<uint8_t>> ParseVersion(std::string_view version, const KeyUri& uri);
// True if `a` sorts before `b`: big-endian numeric order, then length.
bool VersionLess(std::span<const uint8_t> a, std::span<const uint8_t> b);
// The CKA_ID of the version after the highest of `versions`: 4 bytes,
// big-endian (00000001 if there is none).
StatusOr<std::vector<uint8_t>> NextVersionId(const KeyVersions& versions, const KeyUri& uri);

// "token 'ses-test', key 'master'" and, with a version, " version 00000001".
std::string KeyContext(const KeyUri& uri, std::string_view version = {});

// Searches the token now for the versions of `uri`'s key (no cache).
StatusOr<KeyVersions> FindKeyVersions(Lease& session, const KeyUri& uri);

// Handles of every token object of `uri`'s class and label, whatever its
// key type or id.
StatusOr<std::vector<CK_OBJECT_HANDLE>> FindLabelled(Lease& session, const KeyUri& uri);

class KeyCache {
 public:
  explicit KeyCache(std::chrono::milliseconds ttl = std::chrono::seconds(1)) : ttl_(ttl) {}

  // The versions of `uri`'s key: cached if found in this pool generation
  // within the ttl (and `refresh` is false), else searched and cached.
  // `cached` tells which. An empty result is never cached.
  StatusOr<std::shared_ptr<const KeyVersions>> Get(Lease& session, const KeyUri& uri,
                                                   bool refresh, bool* cached);
  // Drops `uri`'s entry (after create, rotate, or a stale handle).
  void Forget(const KeyUri& uri);

 private:
  struct Entry {
    std::shared_ptr<const KeyVersions> versions;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point found;
  };
  static std::string Key(const KeyUri& uri);

  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ses::pkcs11
