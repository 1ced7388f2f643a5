// Internal helpers shared by the dev PKI and the TLS credentials: reading PEM
// files with a size limit, parsing certificates and keys without ever putting
// key bytes into an error, and writing files atomically with a given mode.
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::tls::internal {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// PEM files this large are not certificates or keys; refusing them bounds
// memory for a mistyped path (e.g. a log file).
inline constexpr size_t kMaxPemFileBytes = 1 << 20;

// Errno as a Status naming the operation and the file (ENOENT -> kNotFound,
// EACCES/EPERM -> kPermissionDenied, otherwise kFailedPrecondition).
Status ErrnoStatus(int err, std::string_view op, const std::filesystem::path& path);

// Reads a whole regular file of at most kMaxPemFileBytes. `what` names the
// file's role in errors ("certificate", "private key", ...).
StatusOr<std::string> ReadPublicFile(const std::filesystem::path& path, std::string_view what);
StatusOr<SecretBytes> ReadSecretFile(const std::filesystem::path& path, std::string_view what);

// Every certificate in a PEM buffer, in order; an error if there is none or a
// CERTIFICATE block does not parse. Other PEM blocks are skipped.
StatusOr<std::vector<X509Ptr>> ParseCertificates(std::string_view pem, const std::filesystem::path& path,
                                                 std::string_view what);

// The first private key in a PEM buffer. Encrypted keys are refused (never
// prompts). The error names the file, never the bytes.
StatusOr<EvpPkeyPtr> ParsePrivateKey(std::span<const uint8_t> pem, const std::filesystem::path& path);

// "Jan  2 03:04:05 2030 GMT", as OpenSSL prints an ASN1_TIME.
std::string FormatTime(const ASN1_TIME* t);

// The certificate's subject as one line ("CN=localhost").
std::string SubjectLine(const X509* cert);

// kFailedPrecondition naming the file if `cert` is expired or not yet valid.
Status CheckValidityPeriod(const X509* cert, const std::filesystem::path& path, std::string_view what);

// Writes `contents` to a temp file beside `path` (created 0600), fsyncs it,
// sets `mode`, renames it over `path` and fsyncs the directory. If
// `mtime_after` is not 0, the new file's mtime (whole seconds) is made later
// than it, so a reader comparing second-granular mtimes sees the change.
Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> contents, mode_t mode,
                           time_t mtime_after = 0);
inline Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents, mode_t mode,
                                  time_t mtime_after = 0) {
  return WriteFileAtomically(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(contents.data()), contents.size()), mode,
      mtime_after);
}

// fsync of a directory, so renames inside it are durable. Best effort.
void SyncDirectory(const std::filesystem::path& dir);

}  // namespace ses::tls::internal
