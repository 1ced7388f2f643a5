#include "tls/credentials.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <utility>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "tls/pem_file.h"

namespace ses::tls {
namespace {

// The provider polls the private copies this often. 1 s is gRPC's minimum;
// polling a local file that often costs nothing measurable.
constexpr unsigned int kRefreshIntervalSeconds = 1;
constexpr char kIdentityFile[] = "identity.pem";  // key, then the chain
constexpr char kClientCaFile[] = "client-ca.pem";

// An identity (certificate chain and matching key) that passed every check.
struct Identity {
  std::string cert_pem;
  SecretBytes key_pem;
  std::string summary;  // subject and notAfter of the leaf
};

StatusOr<Identity> LoadIdentity(const std::filesystem::path& cert_file, const std::filesystem::path& key_file) {
  if (cert_file.empty()) return InvalidArgumentError("no certificate file given");
  if (key_file.empty()) return InvalidArgumentError("no private key file given for certificate " + cert_file.string());
  Identity id;
  SES_ASSIGN_OR_RETURN(id.cert_pem, internal::ReadPublicFile(cert_file, "certificate"));
  SES_ASSIGN_OR_RETURN(auto chain, internal::ParseCertificates(id.cert_pem, cert_file, "certificate"));
  X509* leaf = chain.front().get();
  SES_RETURN_IF_ERROR(internal::CheckValidityPeriod(leaf, cert_file, "certificate"));
  SES_ASSIGN_OR_RETURN(id.key_pem, internal::ReadSecretFile(key_file, "private key"));
  SES_ASSIGN_OR_RETURN(internal::EvpPkeyPtr key, internal::ParsePrivateKey(id.key_pem.span(), key_file));
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("private key " + key_file.string() + " does not match certificate " +
                                cert_file.string());
  }
  id.summary = internal::SubjectLine(leaf) + " (notAfter " + internal::FormatTime(X509_get0_notAfter(leaf)) + ")";
  return id;
}

StatusOr<std::string> LoadCa(const std::filesystem::path& ca_file) {
  SES_ASSIGN_OR_RETURN(std::string pem, internal::ReadPublicFile(ca_file, "CA file"));
  SES_RETURN_IF_ERROR(internal::ParseCertificates(pem, ca_file, "CA file").status());
  return pem;
}

Status CheckMinVersion(const std::string& v) {
  if (v.empty() || v == "1.2" || v == "1.3") return OkStatus();
  return InvalidArgumentError("TLS min_version \"" + v + "\" is not supported; use \"1.2\" or \"1.3\"");
}

time_t MtimeOf(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mtim.tv_sec : 0;
}

}  // namespace

Status ValidateTlsFiles(const TlsFiles& files) {
  SES_RETURN_IF_ERROR(CheckMinVersion(files.min_version));
  SES_RETURN_IF_ERROR(LoadIdentity(files.cert_file, files.key_file).status());
  if (!files.client_ca_file.empty()) SES_RETURN_IF_ERROR(LoadCa(files.client_ca_file).status());
  return OkStatus();
}

ServerTls::ServerTls(TlsFiles files, std::filesystem::path runtime_dir)
    : files_(std::move(files)), runtime_dir_(std::move(runtime_dir)) {}

ServerTls::~ServerTls() {
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir_, ec);
}

StatusOr<std::unique_ptr<ServerTls>> ServerTls::Create(const TlsFiles& files,
                                                       const std::filesystem::path& runtime_parent) {
  SES_RETURN_IF_ERROR(ValidateTlsFiles(files));
  if (files.min_version == "1.3") {
    // gRPC 1.51 has no public setter for the minimum TLS version (C or C++);
    // its TLS stack always allows 1.2. Refusing beats pretending.
    return UnimplementedError(
        "TLS min_version \"1.3\" cannot be enforced: gRPC 1.51 always negotiates TLS 1.2 or 1.3; use \"1.2\"");
  }
  std::filesystem::path parent = runtime_parent;
  if (parent.empty()) {
    std::error_code ec;
    parent = std::filesystem::temp_directory_path(ec);
    if (ec) return FailedPreconditionError("TLS: no temporary directory for the runtime copies: " + ec.message());
  }
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return FailedPreconditionError("TLS: cannot create " + parent.string() + ": " + ec.message());
  // mkdtemp makes the directory 0700: only this user reads the key copy.
  std::string dir = (parent / "sesd-tls-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    return internal::ErrnoStatus(errno, "create the TLS runtime directory in", parent);
  }
  std::unique_ptr<ServerTls> tls(new ServerTls(files, dir));
  SES_RETURN_IF_ERROR(tls->Install());

  const std::string identity = (tls->runtime_dir_ / kIdentityFile).string();
  const std::string client_ca = tls->mutual_tls() ? (tls->runtime_dir_ / kClientCaFile).string() : std::string();
  // Key and chain are the same file: PEM parsing skips blocks of other types.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity, identity, client_ca, kRefreshIntervalSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (tls->mutual_tls()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  tls->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (!tls->credentials_) return InternalError("TLS: gRPC refused the server credentials options");
  return tls;
}

Status ServerTls::Reload() { return Install(); }

Status ServerTls::Install() {
  std::lock_guard<std::mutex> lock(mu_);
  // Everything is read and checked before anything is written.
  SES_RETURN_IF_ERROR(CheckMinVersion(files_.min_version));
  SES_ASSIGN_OR_RETURN(Identity id, LoadIdentity(files_.cert_file, files_.key_file));
  std::string ca_pem;
  if (mutual_tls()) {
    SES_ASSIGN_OR_RETURN(ca_pem, LoadCa(files_.client_ca_file));
  }

  SecretBytes combined(id.key_pem.size() + 1 + id.cert_pem.size());
  size_t at = 0;
  std::copy(id.key_pem.data(), id.key_pem.data() + id.key_pem.size(), combined.data());
  at += id.key_pem.size();
  combined.data()[at++] = '\n';  // in case the key file lacks a final newline
  std::copy(id.cert_pem.begin(), id.cert_pem.end(), combined.data() + at);

  // Each copy is replaced by one rename, and its mtime moves forward by at
  // least a second: the provider compares whole-second mtimes around its
  // reads and retries when they change, so it never keeps a torn read.
  const std::filesystem::path identity_path = runtime_dir_ / kIdentityFile;
  SES_RETURN_IF_ERROR(internal::WriteFileAtomically(identity_path, combined.span(), 0600, identity_mtime_)
                          .WithContext("TLS runtime copy"));
  identity_mtime_ = MtimeOf(identity_path);
  if (mutual_tls()) {
    const std::filesystem::path ca_path = runtime_dir_ / kClientCaFile;
    SES_RETURN_IF_ERROR(
        internal::WriteFileAtomically(ca_path, ca_pem, 0600, ca_mtime_).WithContext("TLS runtime copy"));
    ca_mtime_ = MtimeOf(ca_path);
  }
  served_ = std::move(id.summary);
  return OkStatus();
}

std::string ServerTls::served_certificate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return served_;
}

StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const std::filesystem::path& ca_file,
                                                                      const std::filesystem::path& cert_file,
                                                                      const std::filesystem::path& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    return InvalidArgumentError("TLS client: a client certificate needs both a certificate file and a key file");
  }
  grpc::SslCredentialsOptions options;
  if (!ca_file.empty()) {
    SES_ASSIGN_OR_RETURN(options.pem_root_certs, LoadCa(ca_file));
  }
  if (!cert_file.empty()) {
    SES_ASSIGN_OR_RETURN(Identity id, LoadIdentity(cert_file, key_file));
    options.pem_cert_chain = std::move(id.cert_pem);
    // gRPC's options take the key as a std::string; it is wiped right after
    // gRPC has copied it.
    options.pem_private_key.assign(reinterpret_cast<const char*>(id.key_pem.data()), id.key_pem.size());
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(options);
  OPENSSL_cleanse(options.pem_private_key.data(), options.pem_private_key.size());
  if (!creds) return InternalError("TLS client: gRPC refused the SSL credentials options");
  return creds;
}

}  // namespace ses::tls
