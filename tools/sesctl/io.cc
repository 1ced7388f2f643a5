#include "io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

namespace ses::cli {
namespace {

std::string Errno() { return std::strerror(errno); }

// The temporary output files of this process, for the signal handler: a
// killed decrypt must not leave partial plaintext behind. A few slots, since
// datakey generate has two outputs pending at once.
constexpr int kTempSlots = 4;
std::atomic<const char*> g_temp_paths[kTempSlots];

int RegisterTemp(const char* path) {
  for (int i = 0; i < kTempSlots; ++i) {
    const char* expected = nullptr;
    if (g_temp_paths[i].compare_exchange_strong(expected, path)) return i;
  }
  return -1;  // more outputs than slots: only the signal cleanup is lost
}

void UnregisterTemp(int& slot) {
  if (slot >= 0) g_temp_paths[slot].store(nullptr);
  slot = -1;
}

void RemoveTempAndDie(int sig) {
  for (auto& slot : g_temp_paths) {
    if (const char* p = slot.load()) ::unlink(p);  // async-signal-safe
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void InstallOutputCleanup() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(sig, RemoveTempAndDie);
}

StatusOr<std::unique_ptr<Input>> Input::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<Input>(new Input(STDIN_FILENO, "stdin"));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Status s(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kFailedPrecondition,
             "cannot open " + path + ": " + Errno());
    return s;
  }
  return std::unique_ptr<Input>(new Input(fd, path));
}

Input::~Input() {
  if (fd_ != STDIN_FILENO) ::close(fd_);
}

StatusOr<size_t> Input::Read(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return Status(FailedPreconditionError("reading " + name_ + ": " + Errno()));
  }
}

Status Input::ReadExactly(std::span<uint8_t> buf) {
  while (!buf.empty()) {
    SES_ASSIGN_OR_RETURN(size_t n, Read(buf));
    if (n == 0) return AuthenticationFailedError();  // a short message is a broken message
    buf = buf.subspan(n);
  }
  return OkStatus();
}

std::optional<uint64_t> Input::RegularFileSize() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

StatusOr<std::vector<uint8_t>> Input::ReadAll(size_t limit) {
  std::vector<uint8_t> data;
  size_t have = 0;
  for (;;) {
    // Grow in steps; one byte past the limit tells "too large" from "exact".
    size_t want = std::min<size_t>(have + std::max<size_t>(have, 64 * 1024), limit + 1);
    data.resize(want);
    SES_ASSIGN_OR_RETURN(size_t n, Read(std::span<uint8_t>(data).subspan(have)));
    have += n;
    if (have > limit) return OutOfRangeError(name_ + " is larger than " + std::to_string(limit) + " bytes");
    if (n == 0) break;
  }
  data.resize(have);
  return data;
}

StatusOr<std::unique_ptr<Output>> Output::OpenTemp(const std::string& path) {
  std::string temp = path + ".tmp.XXXXXX";
  // mkstemp creates a new file (O_EXCL, mode 0600): never an existing node.
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return Status(FailedPreconditionError("cannot create a temporary file beside " + path + ": " + Errno()));
  auto out = std::unique_ptr<Output>(new Output(fd, path));
  out->path_ = path;
  out->temp_ = std::move(temp);
  out->temp_slot_ = RegisterTemp(out->temp_.c_str());
  return out;
}

StatusOr<std::unique_ptr<Output>> Output::Open(const std::string& path) {
  if (path == "-" || path == "/dev/stdout") return std::unique_ptr<Output>(new Output(STDOUT_FILENO, "stdout"));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return OpenTemp(path);
  // A device or FIFO (/dev/null, a pipe) cannot be replaced by a rename;
  // it is written in place, like stdout. Links and directories are refused.
  if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    return Status(FailedPreconditionError("refusing to write " + path + ": not a regular file, device or FIFO"));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Status(FailedPreconditionError("cannot open " + path + ": " + Errno()));
  auto out = std::unique_ptr<Output>(new Output(fd, path));
  // The node opened must be the one checked: a link or another file put in
  // its place between lstat and open is refused.
  struct stat opened {};
  if (::fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino ||
      (opened.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
    return Status(FailedPreconditionError("refusing to write " + path + ": it changed while being opened"));
  }
  return out;
}

StatusOr<std::unique_ptr<Output>> Output::OpenSecret(const std::string& path) {
  const std::string refused = "refusing to write a secret to " + path +
                              ": it must be a new file or a regular file you own (not stdout, a link, a device or a FIFO)";
  if (path.empty() || path == "-") return Status(FailedPreconditionError(refused));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status(FailedPreconditionError("cannot check " + path + ": " + Errno()));
  } else if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    return Status(FailedPreconditionError(refused));
  }
  // The target itself is never opened: whatever is put at `path` later is
  // replaced by the rename, not written into.
  return OpenTemp(path);
}

Output::~Output() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
  if (!temp_.empty() && !committed_) ::unlink(temp_.c_str());
  UnregisterTemp(temp_slot_);
}

Status Output::Write(std::span<const uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError("writing " + name_ + ": " + Errno());
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status Output::Commit() {
  if (temp_.empty()) return OkStatus();
  if (::fsync(fd_) != 0) return FailedPreconditionError("fsync " + temp_ + ": " + Errno());
  if (::close(fd_) != 0) {
    fd_ = -1;
    return FailedPreconditionError("close " + temp_ + ": " + Errno());
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return FailedPreconditionError("rename to " + path_ + ": " + Errno());
  committed_ = true;
  UnregisterTemp(temp_slot_);
  // The rename itself is durable only once the directory is synced.
  std::string dir = std::filesystem::path(path_).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  SES_ASSIGN_OR_RETURN(auto out, Output::OpenSecret(path));
  SES_RETURN_IF_ERROR(out->Write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return out->Commit();
}

}  // namespace ses::cli
