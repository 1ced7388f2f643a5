// POSIX file handling for key files: opening with the permission checks,
// reading into wiped memory, atomic replacement and cross-process locking.
//
// Every error names the path and the OS reason, never file contents.
//
// Thread safety: free functions with no shared state; a UniqueFd is owned by
// one thread at a time, like the descriptor it closes.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <ctime>
#include <span>
#include <string>
#include <string_view>

#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::keyfile {

// Key files hold a few versions; anything larger is not one of ours.
inline constexpr size_t kMaxKeyFileBytes = 1 << 20;

// Owns a file descriptor and closes it once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// What changes when a key file is rewritten (rename gives a new inode) or
// edited in place (size, mtime, ctime), so a cached parse can be reused.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  static FileIdentity Of(const struct stat& st);
  bool operator==(const FileIdentity& o) const;
};

// Maps an errno from `op` on `path` to a Status (ENOENT -> kNotFound,
// EACCES -> kPermissionDenied, transient errors -> kUnavailable).
Status ErrnoStatus(int err, std::string_view op, const std::string& path);

// Requires a regular file that grants nothing to group or others.
Status CheckKeyFileMode(const std::string& path, const struct stat& st);

// stat(2) plus CheckKeyFileMode.
Status StatKeyFile(const std::string& path, struct stat& st);

// Opens `path` for reading and checks the opened file (not the name, which
// may change meanwhile) with CheckKeyFileMode; `st` receives its fstat.
StatusOr<UniqueFd> OpenKeyFile(const std::string& path, struct stat& st);

// Reads `fd` from its current offset to the end, at most kMaxKeyFileBytes.
StatusOr<SecretBytes> ReadAll(int fd, const std::string& path);

// Blocks until this process holds an exclusive flock(2) on `fd`.
Status LockExclusive(int fd, const std::string& path);

// Writes `contents` to a fresh mode-0600 temporary file beside `path`, syncs
// it, then moves it to `path`. With `replace` false an existing `path` is
// left alone and the result is kAlreadyExists.
Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> contents,
                           bool replace);

}  // namespace ses::keyfile
