// Files for sesctl: inputs from a path or stdin, and outputs that appear only
// when complete (a temp file beside the target, renamed on Commit; removed if
// the command fails or is killed by a signal).
//
// Two kinds of output. Data (ciphertext, or the user's own plaintext) may
// also go to stdout ("-" or /dev/stdout) or straight into an existing device
// or FIFO. A secret (a plaintext data key) goes only into a file: a new one,
// or a regular file the caller owns, replaced by rename; the target path is
// never opened, so a FIFO, device or link planted there never receives it.
//
// Thread safety: one thread per object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ses/status.h"

namespace ses::cli {

class Input {
 public:
  static StatusOr<std::unique_ptr<Input>> Open(const std::string& path);
  ~Input();
  // Reads up to buf.size() bytes; 0 at end of input.
  StatusOr<size_t> Read(std::span<uint8_t> buf);
  // Reads exactly buf.size() bytes or fails (short input).
  Status ReadExactly(std::span<uint8_t> buf);
  const std::string& name() const { return name_; }
  // The size of a regular file; nullopt for a pipe, terminal or device.
  std::optional<uint64_t> RegularFileSize() const;
  // Reads to the end; kOutOfRange if there are more than `limit` bytes.
  StatusOr<std::vector<uint8_t>> ReadAll(size_t limit);

 private:
  Input(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  int fd_;
  std::string name_;
};

class Output {
 public:
  // Data. "-" and "/dev/stdout" are stdout. An existing character device or
  // FIFO is written in place: opened with O_NOFOLLOW and checked to be the
  // node lstat saw, so a link swapped in meanwhile is refused. Anything else
  // becomes a temp file (mode 0600) renamed over `path` on Commit. Links,
  // directories and other kinds of file: kFailedPrecondition.
  static StatusOr<std::unique_ptr<Output>> Open(const std::string& path);
  // A secret. `path` must not exist or must be a regular file owned by the
  // caller; anything else (stdout, "-", a link, device, FIFO, directory,
  // another user's file) is kFailedPrecondition, before any byte is made.
  // Always a temp file (mode 0600) renamed over `path` on Commit.
  static StatusOr<std::unique_ptr<Output>> OpenSecret(const std::string& path);
  ~Output();  // removes the temp file unless committed
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  Status Write(std::span<const uint8_t> data);
  // For a temp file: fsyncs it, renames it into place and syncs the
  // directory. Otherwise nothing to do.
  Status Commit();

 private:
  Output(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  static StatusOr<std::unique_ptr<Output>> OpenTemp(const std::string& path);
  int fd_;
  std::string name_;  // for messages: the path, or "stdout"
  std::string path_;  // rename target; empty when written in place
  std::string temp_;
  int temp_slot_ = -1;  // registration for the signal handler
  bool committed_ = false;
};

// Writes `text` to `path` atomically with mode 0600 (temp file + rename),
// under OpenSecret's rules: config files may hold credentials.
Status WriteFileAtomically(const std::string& path, const std::string& text);

// Makes SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the pending temporary
// outputs (up to four at once) before the process dies. Call once at
// start-up.
void InstallOutputCleanup();

}  // namespace ses::cli
