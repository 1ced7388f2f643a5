// Files for sesctl: inputs from a path or stdin, and outputs that appear only
// when complete (a temp file beside the target, renamed on Commit; removed if
// the command fails or is killed by a signal). "-" means stdin / stdout; an
// existing device or FIFO is written directly.
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
  static StatusOr<std::unique_ptr<Output>> Open(const std::string& path);
  ~Output();  // removes the temp file unless committed
  Status Write(std::span<const uint8_t> data);
  // Flushes and, for a file, fsyncs and renames it into place.
  Status Commit();

 private:
  Output(int fd, std::string path, std::string temp) : fd_(fd), path_(std::move(path)), temp_(std::move(temp)) {}
  int fd_;
  std::string path_;  // empty for stdout
  std::string temp_;
  bool committed_ = false;
};

// Writes `text` to `path` atomically with mode 0600 (temp file + rename).
Status WriteFileAtomically(const std::string& path, const std::string& text);

// Makes SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the pending temporary
// output before the process dies. Call once at start-up.
void InstallOutputCleanup();

}  // namespace ses::cli
