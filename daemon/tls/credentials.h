// TLS for sesd's gRPC listeners and its clients (sesctl, tests).
//
// ServerTls serves the operator's certificate through gRPC's file-watching
// certificate provider, but never lets the provider see the operator's files:
// it validates them and copies them into a private runtime directory it owns.
// Reload() (on SIGHUP) validates the operator's files again and only then
// replaces the private copies, so a bad new certificate is refused with an
// error while the old one keeps serving, and open connections are never
// dropped (only new handshakes see the new certificate, within about a
// second: the provider's refresh interval).
//
// TLS versions: gRPC 1.51's public API (C and C++) has no way to set the
// minimum TLS version of TlsServerCredentials or SslServerCredentials; its
// TLS stack always negotiates TLS 1.2 or 1.3. So min_version "1.2" (the
// default) is what gRPC enforces anyway, and "1.3" is refused by
// ServerTls::Create with kUnimplemented rather than silently not enforced.
//
// Thread safety: ValidateTlsFiles and ClientCredentials are free functions,
// safe from any thread. ServerTls: Reload() may be called from any thread
// (calls are serialised); credentials() and the accessors are safe at any time.
#pragma once

#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "ses/status.h"

namespace ses::tls {

struct TlsFiles {
  std::filesystem::path cert_file;       // PEM certificate chain, leaf first
  std::filesystem::path key_file;        // PEM private key (unencrypted), matching the leaf
  std::filesystem::path client_ca_file;  // empty: TLS only; set: mTLS, a client cert signed by it is required
  std::string min_version = "1.2";       // "1.2" or "1.3" (empty means "1.2")
};

// Checks everything that can be checked before serving: each file is a
// readable regular file of at most 1 MiB; cert_file holds PEM certificates and
// the first is within its validity period (an expired one reports notAfter);
// key_file holds an unencrypted PEM private key that matches that certificate
// (X509_check_private_key); client_ca_file, if set, holds at least one PEM
// certificate; min_version is "", "1.2" or "1.3". The first problem found is
// returned as one error naming the file: kNotFound (missing),
// kPermissionDenied (unreadable), kInvalidArgument (not PEM, key mismatch,
// bad min_version), kFailedPrecondition (expired / not yet valid, not a
// regular file). Never includes key bytes.
Status ValidateTlsFiles(const TlsFiles& files);

class ServerTls {
 public:
  // Validates `files`, creates a private 0700 directory under
  // `runtime_parent` (default: the system temp directory) holding copies of
  // them, and builds server credentials whose provider watches those copies
  // (refresh every second). With client_ca_file set, clients must present a
  // certificate that verifies against it (mTLS); without it, none is asked for.
  static StatusOr<std::unique_ptr<ServerTls>> Create(const TlsFiles& files,
                                                     const std::filesystem::path& runtime_parent = {});

  // Removes the private directory. Destroy only after every grpc::Server
  // built with credentials() has shut down: the provider reads the copies.
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // Re-reads and validates the same operator paths. On success the private
  // copies are replaced atomically (identity key and chain live in one file,
  // so the provider can never pair a new key with an old certificate) and new
  // handshakes use them within about a second; on failure nothing changes
  // and the error names the offending file.
  Status Reload();

  // For grpc::ServerBuilder::AddListeningPort. The same object every call.
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }

  const TlsFiles& files() const { return files_; }
  bool mutual_tls() const { return !files_.client_ca_file.empty(); }
  // Subject and notAfter of the certificate now being served, for logs,
  // e.g. "CN = localhost (notAfter Jan  2 03:04:05 2031 GMT)".
  std::string served_certificate() const;
  const std::filesystem::path& runtime_dir() const { return runtime_dir_; }

 private:
  ServerTls(TlsFiles files, std::filesystem::path runtime_dir);
  // Validates the operator files and writes the private copies.
  Status Install();

  const TlsFiles files_;
  const std::filesystem::path runtime_dir_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  mutable std::mutex mu_;  // serialises Install; guards the fields below
  std::string served_;
  time_t identity_mtime_ = 0;  // mtime of the identity copy last written
  time_t ca_mtime_ = 0;
};

// Channel credentials for a client of sesd: trusts `ca_file` (empty: the
// system's default roots) and, if cert_file and key_file are both set,
// presents that client certificate (for mTLS). Validates the files first
// (same rules and errors as ValidateTlsFiles; setting only one of
// cert_file/key_file is kInvalidArgument).
StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const std::filesystem::path& ca_file,
                                                                      const std::filesystem::path& cert_file = {},
                                                                      const std::filesystem::path& key_file = {});

}  // namespace ses::tls
