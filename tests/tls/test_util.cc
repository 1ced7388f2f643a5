#include "test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace ses::tls::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test setup failed: ") + what);
}

std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> NewKey() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          EVP_PKEY_free);
  Check(key != nullptr, "EC keygen");
  return key;
}

std::string KeyPem(EVP_PKEY* key, bool encrypted) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  static const char kPass[] = "test-passphrase";
  int ok = encrypted ? PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), kPass, sizeof(kPass) - 1,
                                                     nullptr, nullptr)
                     : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  Check(ok == 1, "key PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ses-tls-test-XXXXXX").string();
  Check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  Check(in.good(), "open file to read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& contents, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".test-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    Check(out.good(), "open file to write");
    out << contents;
    Check(out.good(), "write file");
  }
  Check(::chmod(tmp.c_str(), mode) == 0, "chmod");
  std::filesystem::rename(tmp, path);
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st {};
  Check(::stat(path.c_str(), &st) == 0, "stat");
  return st.st_mode & 07777;
}

void WriteExpiredCert(const std::filesystem::path& cert_path, const std::filesystem::path& key_path, int days_ago) {
  auto key = NewKey();
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  Check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242) == 1, "serial");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("expired"), -1,
                                   -1, 0) == 1,
        "subject");
  Check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  Check(X509_time_adj_ex(X509_getm_notBefore(cert.get()), -(days_ago + 365), 0, nullptr) != nullptr, "notBefore");
  Check(X509_time_adj_ex(X509_getm_notAfter(cert.get()), -days_ago, 0, nullptr) != nullptr, "notAfter");
  Check(X509_set_pubkey(cert.get(), key.get()) == 1, "pubkey");
  Check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  Check(PEM_write_bio_X509(bio.get(), cert.get()) == 1, "cert PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  WriteFile(cert_path, std::string(data, static_cast<size_t>(n)), 0644);
  WriteFile(key_path, KeyPem(key.get(), false), 0600);
}

void WriteNewKey(const std::filesystem::path& key_path, bool encrypted) {
  auto key = NewKey();
  WriteFile(key_path, KeyPem(key.get(), encrypted), 0600);
}

}  // namespace ses::tls::testing
