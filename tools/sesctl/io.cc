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

// The temporary output file of this process, for the signal handler: a
// killed decrypt must not leave partial plaintext behind.
std::atomic<const char*> g_temp_path{nullptr};

void RemoveTempAndDie(int sig) {
  if (const char* p = g_temp_path.load()) ::unlink(p);  // async-signal-safe
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

StatusOr<std::unique_ptr<Output>> Output::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<Output>(new Output(STDOUT_FILENO, "", ""));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A device or FIFO (/dev/null, a pipe) cannot be replaced by a rename;
    // it is written directly, like stdout. Links and directories are refused.
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
      return Status(FailedPreconditionError("refusing to write " + path + ": not a regular file, device or FIFO"));
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Status(FailedPreconditionError("cannot open " + path + ": " + Errno()));
    return std::unique_ptr<Output>(new Output(fd, "", path));
  }
  std::string temp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp.data());  // mode 0600: outputs may be plaintext
  if (fd < 0) return Status(FailedPreconditionError("cannot create a temporary file beside " + path + ": " + Errno()));
  auto out = std::unique_ptr<Output>(new Output(fd, path, temp));
  g_temp_path.store(out->temp_.c_str());
  return out;
}

Output::~Output() {
  if (path_.empty()) {
    if (fd_ != STDOUT_FILENO && fd_ >= 0) ::close(fd_);
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
  g_temp_path.store(nullptr);
}

Status Output::Write(std::span<const uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError("writing " + (path_.empty() ? std::string("stdout") : path_) + ": " + Errno());
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status Output::Commit() {
  if (path_.empty()) return OkStatus();
  if (::fsync(fd_) != 0) return FailedPreconditionError("fsync " + temp_ + ": " + Errno());
  if (::close(fd_) != 0) {
    fd_ = -1;
    return FailedPreconditionError("close " + temp_ + ": " + Errno());
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return FailedPreconditionError("rename to " + path_ + ": " + Errno());
  committed_ = true;
  g_temp_path.store(nullptr);
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
  SES_ASSIGN_OR_RETURN(auto out, Output::Open(path));
  SES_RETURN_IF_ERROR(out->Write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return out->Commit();
}

}  // namespace ses::cli
