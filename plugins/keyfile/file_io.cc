#include "file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include <openssl/rand.h>

namespace ses::keyfile {
namespace {

std::string RandomSuffix() {
  uint8_t r[8];
  if (RAND_bytes(r, sizeof(r)) != 1) return std::to_string(::getpid());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : r) {
    s += kHex[b >> 4];
    s += kHex[b & 0xf];
  }
  return s;
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, std::span<const uint8_t> data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

// Moves tmp to path unless path exists. renameat2 does it in one step; link
// is the fallback for file systems without RENAME_NOREPLACE.
Status MoveNoReplace(const std::string& tmp, const std::string& path) {
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    return OkStatus();
  }
  int err = errno;
  if (err != EINVAL && err != ENOSYS && err != ENOTSUP) {
    if (err == EEXIST) return AlreadyExistsError("keyfile: " + path + " already exists");
    return ErrnoStatus(err, "rename to", path);
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    if (err == EEXIST) return AlreadyExistsError("keyfile: " + path + " already exists");
    return ErrnoStatus(err, "link", path);
  }
  ::unlink(tmp.c_str());
  return OkStatus();
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

FileIdentity FileIdentity::Of(const struct stat& st) {
  return FileIdentity{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

bool FileIdentity::operator==(const FileIdentity& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec &&
         ctime.tv_nsec == o.ctime.tv_nsec;
}

Status ErrnoStatus(int err, std::string_view op, const std::string& path) {
  if (err == ENOENT) return NotFoundError("keyfile: " + path + " does not exist");
  std::string msg = "keyfile: cannot " + std::string(op) + " " + path + ": " +
                    std::error_code(err, std::generic_category()).message();
  switch (err) {
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(msg));
    case ENOTDIR:
      return NotFoundError(std::move(msg));
    case EIO:
    case EAGAIN:
    case EINTR:
    case ENFILE:
    case EMFILE:
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
      return UnavailableError(std::move(msg));
    default:
      return InternalError(std::move(msg));
  }
}

Status CheckKeyFileMode(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError("keyfile: " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError("keyfile: " + path + " is accessible by group or others (mode " +
                                 mode + "); chmod 600 it");
  }
  return OkStatus();
}

Status StatKeyFile(const std::string& path, struct stat& st) {
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  return CheckKeyFileMode(path, st);
}

StatusOr<UniqueFd> OpenKeyFile(const std::string& path, struct stat& st) {
  // O_NONBLOCK so a FIFO planted at the path cannot hang the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, "open", path);
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  SES_RETURN_IF_ERROR(CheckKeyFileMode(path, st));
  return fd;
}

StatusOr<SecretBytes> ReadAll(int fd, const std::string& path) {
  SecretBytes buf(4096);
  size_t len = 0;
  for (;;) {
    if (len == buf.size()) {
      if (buf.size() > kMaxKeyFileBytes) {
        return FailedPreconditionError("keyfile: " + path + " is larger than " +
                                       std::to_string(kMaxKeyFileBytes) + " bytes");
      }
      // SecretBytes wipes the old block when the vector reallocates.
      buf.resize(std::min(buf.size() * 2, kMaxKeyFileBytes + 1));
    }
    ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  internal::Cleanse(buf.data() + len, buf.size() - len);
  buf.resize(len);
  return buf;
}

Status LockExclusive(int fd, const std::string& path) {
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "lock", path);
  }
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, std::span<const uint8_t> contents,
                           bool replace) {
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && fd.get() < 0; ++attempt) {
    tmp = path + ".tmp." + RandomSuffix();
    fd = UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0 && errno != EEXIST) return ErrnoStatus(errno, "create", tmp);
  }
  if (fd.get() < 0) return InternalError("keyfile: cannot pick a temporary name beside " + path);

  Status s = [&]() -> Status {
    // The umask can only narrow 0600, but the result must be exactly 0600.
    if (::fchmod(fd.get(), 0600) != 0) return ErrnoStatus(errno, "chmod", tmp);
    SES_RETURN_IF_ERROR(WriteAll(fd.get(), contents, tmp));
    if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "sync", tmp);
    if (::close(fd.release()) != 0) return ErrnoStatus(errno, "close", tmp);
    if (!replace) return MoveNoReplace(tmp, path);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename to", path);
    return OkStatus();
  }();
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Makes the rename itself durable. Best effort: the new file is already in
  // place, so reporting failure here would misstate what happened.
  UniqueFd dir(::open(ParentDir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return OkStatus();
}

}  // namespace ses::keyfile
