#include "tls/dev_pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/pem_file.h"

namespace ses::tls {
namespace {

using internal::EvpPkeyPtr;
using internal::X509Ptr;

constexpr long kCaDays = 3650;
constexpr long kLeafDays = 365;
// Certificates start a little in the past so a clock a few seconds behind
// the one that issued them still accepts them.
constexpr long kBackdateSeconds = 300;
constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

struct Extension {
  int nid;
  const char* value;
};

// What one certificate says; the issuer is either itself or the CA.
struct CertSpec {
  const char* common_name;
  long days;
  std::vector<Extension> extensions;
};

struct Issued {
  EvpPkeyPtr key;
  X509Ptr cert;
};

Status OpenSslError(const std::string& what) {
  ERR_clear_error();
  return InternalError("dev PKI: OpenSSL failed to " + what);
}

StatusOr<EvpPkeyPtr> NewP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("generate an EC P-256 key");
  return key;
}

// A random positive 128-bit serial (RFC 5280 allows up to 20 octets).
Status SetRandomSerial(X509* cert) {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return OpenSslError("draw a serial number");
  bytes[0] &= 0x7f;  // positive in DER
  bytes[0] |= 0x40;  // never zero, always 16 octets
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("set a serial number");
  }
  return OkStatus();
}

Status AddExtension(X509* cert, X509* issuer, const Extension& ext) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* raw = X509V3_EXT_conf_nid(nullptr, &ctx, ext.nid, ext.value);
  if (raw == nullptr) return OpenSslError(std::string("build extension ") + OBJ_nid2sn(ext.nid));
  int ok = X509_add_ext(cert, raw, -1);
  X509_EXTENSION_free(raw);
  if (ok != 1) return OpenSslError(std::string("add extension ") + OBJ_nid2sn(ext.nid));
  return OkStatus();
}

// Issues a certificate for a new key. With no issuer it is self-signed.
StatusOr<Issued> Issue(const CertSpec& spec, const Issued* issuer) {
  SES_ASSIGN_OR_RETURN(EvpPkeyPtr key, NewP256Key());
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("allocate a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("set the certificate version");
  SES_RETURN_IF_ERROR(SetRandomSerial(cert.get()));

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("SES development"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(spec.common_name), -1, -1, 0) != 1) {
    return OpenSslError("set the subject name");
  }
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key.get() : key.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1) {
    return OpenSslError("set the issuer name");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(spec.days), 0, nullptr) == nullptr) {
    return OpenSslError("set the validity period");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return OpenSslError("set the public key");

  // The key identifier first: the authority key identifier of a self-signed
  // certificate refers to it.
  SES_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, {NID_subject_key_identifier, "hash"}));
  SES_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, {NID_authority_key_identifier, "keyid:always"}));
  for (const Extension& ext : spec.extensions) SES_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, ext));

  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return OpenSslError("sign a certificate");
  return Issued{std::move(key), std::move(cert)};
}

StatusOr<SecretBytes> KeyPem(EVP_PKEY* key) {
  // secmem: the BIO wipes its buffer when freed.
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encode a private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) return OpenSslError("encode a private key");
  return SecretBytes(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(n));
}

StatusOr<std::string> CertPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("encode a certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0) return OpenSslError("encode a certificate");
  return std::string(data, static_cast<size_t>(n));
}

Status WritePair(const Issued& issued, const std::filesystem::path& cert_path,
                 const std::filesystem::path& key_path) {
  SES_ASSIGN_OR_RETURN(SecretBytes key_pem, KeyPem(issued.key.get()));
  SES_RETURN_IF_ERROR(internal::WriteFileAtomically(key_path, key_pem.span(), kKeyMode));
  SES_ASSIGN_OR_RETURN(std::string cert_pem, CertPem(issued.cert.get()));
  return internal::WriteFileAtomically(cert_path, cert_pem, kCertMode);
}

DevPkiPaths PathsIn(const std::filesystem::path& tls_dir) {
  DevPkiPaths p;
  p.dir = tls_dir;
  p.ca_cert = tls_dir / "ca.pem";
  p.ca_key = tls_dir / "ca-key.pem";
  p.server_cert = tls_dir / "server.pem";
  p.server_key = tls_dir / "server-key.pem";
  p.client_cert = tls_dir / "client.pem";
  p.client_key = tls_dir / "client-key.pem";
  return p;
}

std::vector<std::filesystem::path> AllFiles(const DevPkiPaths& p) {
  return {p.ca_cert, p.ca_key, p.server_cert, p.server_key, p.client_cert, p.client_key};
}

// Writes a complete set into `staging` (a fresh, empty 0700 directory).
Status Generate(const std::filesystem::path& staging) {
  DevPkiPaths p = PathsIn(staging);
  SES_ASSIGN_OR_RETURN(Issued ca, Issue({"SES development CA",
                                         kCaDays,
                                         {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                          {NID_key_usage, "critical,keyCertSign,cRLSign"}}},
                                        nullptr));
  SES_ASSIGN_OR_RETURN(Issued server, Issue({"localhost",
                                             kLeafDays,
                                             {{NID_basic_constraints, "critical,CA:FALSE"},
                                              {NID_key_usage, "critical,digitalSignature"},
                                              {NID_ext_key_usage, "serverAuth"},
                                              {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"}}},
                                            &ca));
  SES_ASSIGN_OR_RETURN(Issued client, Issue({"sesctl-dev",
                                             kLeafDays,
                                             {{NID_basic_constraints, "critical,CA:FALSE"},
                                              {NID_key_usage, "critical,digitalSignature"},
                                              {NID_ext_key_usage, "clientAuth"}}},
                                            &ca));
  SES_RETURN_IF_ERROR(WritePair(ca, p.ca_cert, p.ca_key));
  SES_RETURN_IF_ERROR(WritePair(server, p.server_cert, p.server_key));
  SES_RETURN_IF_ERROR(WritePair(client, p.client_cert, p.client_key));
  return OkStatus();
}

std::string StartOver(const DevPkiPaths& p) {
  return "; delete " + p.dir.string() + " to generate a new dev PKI (clients must then trust the new ca.pem)";
}

StatusOr<X509Ptr> LoadCert(const std::filesystem::path& path, const DevPkiPaths& p) {
  auto pem = internal::ReadPublicFile(path, "dev certificate");
  if (!pem.ok()) return FailedPreconditionError("dev PKI: " + pem.status().message() + StartOver(p));
  auto certs = internal::ParseCertificates(*pem, path, "dev certificate");
  if (!certs.ok()) return FailedPreconditionError("dev PKI: " + certs.status().message() + StartOver(p));
  Status valid = internal::CheckValidityPeriod(certs->front().get(), path, "dev certificate");
  if (!valid.ok()) return FailedPreconditionError("dev PKI: " + valid.message() + StartOver(p));
  return std::move(certs->front());
}

StatusOr<EvpPkeyPtr> LoadKey(const std::filesystem::path& path, const DevPkiPaths& p) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return FailedPreconditionError("dev PKI: " + internal::ErrnoStatus(errno, "stat", path).message() + StartOver(p));
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPreconditionError("dev PKI: private key " + path.string() +
                                   " is accessible by group or others; chmod 600 it");
  }
  auto pem = internal::ReadSecretFile(path, "private key");
  if (!pem.ok()) return FailedPreconditionError("dev PKI: " + pem.status().message() + StartOver(p));
  auto key = internal::ParsePrivateKey(pem->span(), path);
  if (!key.ok()) return FailedPreconditionError("dev PKI: " + key.status().message() + StartOver(p));
  return std::move(*key);
}

// Checks that an existing set is complete and consistent.
Status Verify(const DevPkiPaths& p) {
  SES_ASSIGN_OR_RETURN(X509Ptr ca, LoadCert(p.ca_cert, p));
  SES_ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, LoadKey(p.ca_key, p));
  SES_ASSIGN_OR_RETURN(X509Ptr server, LoadCert(p.server_cert, p));
  SES_ASSIGN_OR_RETURN(EvpPkeyPtr server_key, LoadKey(p.server_key, p));
  SES_ASSIGN_OR_RETURN(X509Ptr client, LoadCert(p.client_cert, p));
  SES_ASSIGN_OR_RETURN(EvpPkeyPtr client_key, LoadKey(p.client_key, p));

  const std::array<std::tuple<X509*, EVP_PKEY*, const std::filesystem::path*, const std::filesystem::path*>, 3>
      pairs{{{ca.get(), ca_key.get(), &p.ca_cert, &p.ca_key},
             {server.get(), server_key.get(), &p.server_cert, &p.server_key},
             {client.get(), client_key.get(), &p.client_cert, &p.client_key}}};
  for (const auto& [cert, key, cert_path, key_path] : pairs) {
    if (X509_check_private_key(cert, key) != 1) {
      ERR_clear_error();
      return FailedPreconditionError("dev PKI: " + key_path->string() + " does not match " + cert_path->string() +
                                     StartOver(p));
    }
  }
  // Each leaf must chain to this CA, or the set was mixed from two runs.
  for (const auto& [leaf, path] : {std::pair{server.get(), &p.server_cert}, std::pair{client.get(), &p.client_cert}}) {
    EVP_PKEY* ca_pub = X509_get0_pubkey(ca.get());
    if (ca_pub == nullptr || X509_verify(leaf, ca_pub) != 1) {
      ERR_clear_error();
      return FailedPreconditionError("dev PKI: " + path->string() + " is not signed by " + p.ca_cert.string() +
                                     StartOver(p));
    }
  }
  return OkStatus();
}

}  // namespace

Status EnsureDevPki(const std::filesystem::path& dir, DevPkiPaths* out) {
  if (dir.empty()) return InvalidArgumentError("dev PKI: no directory given");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return FailedPreconditionError("dev PKI: cannot create " + dir.string() + ": " + ec.message());

  DevPkiPaths paths = PathsIn(dir / "tls");
  std::vector<std::string> present, missing;
  for (const auto& f : AllFiles(paths)) {
    struct stat st {};
    if (::lstat(f.c_str(), &st) == 0) {
      present.push_back(f.filename().string());
    } else if (errno == ENOENT) {
      missing.push_back(f.filename().string());
    } else {
      return FailedPreconditionError("dev PKI: " + internal::ErrnoStatus(errno, "stat", f).message());
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!present.empty() && !missing.empty()) {
    return FailedPreconditionError("dev PKI in " + paths.dir.string() + " is incomplete: missing " + join(missing) +
                                   StartOver(paths));
  }
  if (missing.empty()) {
    SES_RETURN_IF_ERROR(Verify(paths));
    *out = paths;
    return OkStatus();
  }

  // Built aside and renamed into place in one step, so DIR/tls only ever
  // holds a complete set. mkdtemp makes the directory 0700.
  std::string staging = (dir / ".tls-staging-XXXXXX").string();
  if (::mkdtemp(staging.data()) == nullptr) {
    return FailedPreconditionError("dev PKI: " +
                                   internal::ErrnoStatus(errno, "create a staging directory in", dir).message());
  }
  Status s = Generate(staging);
  if (s.ok() && ::rename(staging.c_str(), paths.dir.c_str()) != 0) {
    int err = errno;
    if (err == ENOTEMPTY || err == EEXIST) {
      // Another process finished first, or DIR/tls holds unrelated files.
      std::filesystem::remove_all(staging, ec);
      SES_RETURN_IF_ERROR(Verify(paths));
      *out = paths;
      return OkStatus();
    }
    s = FailedPreconditionError("dev PKI: " + internal::ErrnoStatus(err, "rename the staging directory to",
                                                                     paths.dir).message());
  }
  if (!s.ok()) {
    std::filesystem::remove_all(staging, ec);
    return s;
  }
  internal::SyncDirectory(dir);
  *out = paths;
  out->created = true;
  return OkStatus();
}

}  // namespace ses::tls
