#include "tls/pem_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace ses::tls::internal {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Never prompts: a key that needs a passphrase is an error, not a tty read.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Reads the whole file into `buf` (kMaxPemFileBytes + 1 bytes, so a file
// that grew after fstat is still caught) and returns the length read.
StatusOr<size_t> ReadBounded(const std::filesystem::path& path, std::string_view what, std::span<uint8_t> buf) {
  const std::string role(what);
  // O_NONBLOCK so a FIFO planted at the path cannot hang the open.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, "open " + role, path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + role, path);
  if (!S_ISREG(st.st_mode)) return FailedPreconditionError(role + " " + path.string() + " is not a regular file");
  const Status too_big = InvalidArgumentError(role + " " + path.string() + " is larger than " +
                                              std::to_string(kMaxPemFileBytes) + " bytes; not a PEM file");
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxPemFileBytes) return too_big;
  size_t len = 0;
  while (len < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read " + role, path);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len > kMaxPemFileBytes) return too_big;
  return len;
}

bool LastErrorIsNoStartLine() {
  unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

}  // namespace

Status ErrnoStatus(int err, std::string_view op, const std::filesystem::path& path) {
  std::string msg = "cannot " + std::string(op) + " " + path.string() + ": " +
                    std::error_code(err, std::generic_category()).message();
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(msg));
    default:
      return FailedPreconditionError(std::move(msg));
  }
}

StatusOr<std::string> ReadPublicFile(const std::filesystem::path& path, std::string_view what) {
  std::string out(kMaxPemFileBytes + 1, '\0');
  SES_ASSIGN_OR_RETURN(size_t len,
                       ReadBounded(path, what, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size())));
  out.resize(len);
  return out;
}

StatusOr<SecretBytes> ReadSecretFile(const std::filesystem::path& path, std::string_view what) {
  SecretBytes buf(kMaxPemFileBytes + 1);  // wiped when it goes out of scope
  SES_ASSIGN_OR_RETURN(size_t len, ReadBounded(path, what, std::span<uint8_t>(buf.data(), buf.size())));
  return SecretBytes(buf.data(), len);
}

StatusOr<std::vector<X509Ptr>> ParseCertificates(std::string_view pem, const std::filesystem::path& path,
                                                 std::string_view what) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("out of memory reading " + path.string());
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (cert) {
      certs.push_back(std::move(cert));
      continue;
    }
    bool end = LastErrorIsNoStartLine();
    ERR_clear_error();
    if (end) break;
    return InvalidArgumentError(std::string(what) + " " + path.string() + ": certificate #" +
                                std::to_string(certs.size() + 1) + " is not a valid PEM X.509 certificate");
  }
  if (certs.empty()) {
    return InvalidArgumentError(std::string(what) + " " + path.string() + " contains no PEM certificate");
  }
  return certs;
}

StatusOr<EvpPkeyPtr> ParsePrivateKey(std::span<const uint8_t> pem, const std::filesystem::path& path) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("out of memory reading " + path.string());
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (key) return key;
  // Only the PEM labels are looked at, to say why; nothing of the key is shown.
  std::string_view text(reinterpret_cast<const char*>(pem.data()), pem.size());
  if (text.find("ENCRYPTED") != std::string_view::npos) {
    return InvalidArgumentError("private key " + path.string() +
                                " is encrypted; SES needs an unencrypted PEM key protected by file permissions");
  }
  return InvalidArgumentError("private key " + path.string() + " contains no valid PEM private key");
}

std::string FormatTime(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || t == nullptr || ASN1_TIME_print(bio.get(), t) != 1) return "(unprintable time)";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string SubjectLine(const X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) < 0) {
    return "(unprintable subject)";
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

Status CheckValidityPeriod(const X509* cert, const std::filesystem::path& path, std::string_view what) {
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  if (X509_cmp_current_time(not_after) <= 0) {
    return FailedPreconditionError(std::string(what) + " " + path.string() + " expired (notAfter " +
                                   FormatTime(not_after) + ")");
  }
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  if (X509_cmp_current_time(not_before) >= 0) {
    return FailedPreconditionError(std::string(what) + " " + path.string() + " is not valid yet (notBefore " +
                                   FormatTime(not_before) + ")");
  }
  return OkStatus();
}

Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> contents, mode_t mode,
                           time_t mtime_after) {
  std::string tmp = path.string() + ".tmp-XXXXXX";
  // mkstemp creates the file 0600, so a key is never briefly readable by others.
  int raw = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (raw < 0) return ErrnoStatus(errno, "create a temporary file beside", path);
  Fd fd(raw);
  Status s = [&]() -> Status {
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "write", tmp);
      }
      done += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0) return ErrnoStatus(errno, "chmod", tmp);
    if (mtime_after != 0) {
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", tmp);
      if (st.st_mtim.tv_sec <= mtime_after) {
        struct timespec times[2];
        times[0].tv_sec = 0;
        times[0].tv_nsec = UTIME_OMIT;
        times[1].tv_sec = mtime_after + 1;
        times[1].tv_nsec = 0;
        if (::futimens(fd.get(), times) != 0) return ErrnoStatus(errno, "set the mtime of", tmp);
      }
    }
    if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "sync", tmp);
    if (::close(fd.release()) != 0) return ErrnoStatus(errno, "close", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename into place", path);
    return OkStatus();
  }();
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  SyncDirectory(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
  return OkStatus();
}

void SyncDirectory(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Best effort: the rename already happened; failing now would misstate it.
  if (fd.get() >= 0) ::fsync(fd.get());
}

}  // namespace ses::tls::internal
