// The dev PKI: created once with the right shape and modes, reused as is,
// never silently regenerated over a partial or broken set.
#include "tls/dev_pki.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test_util.h"

namespace ses::tls {
namespace {

using testing::ModeOf;
using testing::ReadFile;
using testing::TempDir;

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr LoadCert(const std::filesystem::path& path) {
  std::string pem = ReadFile(path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
}

std::map<std::string, std::string> Snapshot(const DevPkiPaths& p) {
  std::map<std::string, std::string> m;
  for (const auto& f : {p.ca_cert, p.ca_key, p.server_cert, p.server_key, p.client_cert, p.client_key}) {
    m[f.filename().string()] = ReadFile(f);
  }
  return m;
}

// Days from now until the certificate's notAfter.
int DaysLeft(const X509* cert) {
  int days = 0, secs = 0;
  EXPECT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)), 1);
  return days;
}

// Verifies `leaf` against `ca` for the given X509_PURPOSE_*.
bool VerifiesAgainst(X509* leaf, X509* ca, int purpose) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return false;
  }
  return X509_verify_cert(ctx.get()) == 1;
}

TEST(DevPkiTest, CreatesAllFilesWithTheRightModes) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path() / "state", &p).ok());
  EXPECT_TRUE(p.created);
  EXPECT_EQ(p.dir, tmp.path() / "state" / "tls");
  EXPECT_EQ(ModeOf(p.dir), 0700u);
  for (const auto& key : {p.ca_key, p.server_key, p.client_key}) EXPECT_EQ(ModeOf(key), 0600u) << key;
  for (const auto& cert : {p.ca_cert, p.server_cert, p.client_cert}) EXPECT_EQ(ModeOf(cert), 0644u) << cert;
  // Only the six files: no temp files or staging directories left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(p.dir)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 6);
  for (const auto& e : std::filesystem::directory_iterator(tmp.path() / "state")) {
    EXPECT_EQ(e.path().filename(), "tls") << "left behind: " << e.path();
  }
}

TEST(DevPkiTest, SecondCallReusesTheSameBytes) {
  TempDir tmp;
  DevPkiPaths first, second;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &first).ok());
  auto before = Snapshot(first);
  Status s = EnsureDevPki(tmp.path(), &second);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.server_cert, first.server_cert);
  EXPECT_EQ(Snapshot(second), before);
}

TEST(DevPkiTest, FillsAnExistingEmptyTlsDirectory) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.path() / "tls");
  DevPkiPaths p;
  Status s = EnsureDevPki(tmp.path(), &p);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(p.created);
  EXPECT_TRUE(std::filesystem::exists(p.client_key));
}

TEST(DevPkiTest, RefusesAHalfPresentSetAndTouchesNothing) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &p).ok());
  auto before = Snapshot(p);
  std::filesystem::remove(p.server_key);
  before.erase("server-key.pem");

  DevPkiPaths again;
  Status s = EnsureDevPki(tmp.path(), &again);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("server-key.pem"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("delete"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(p.server_key));
  std::map<std::string, std::string> after;
  for (const auto& f : {p.ca_cert, p.ca_key, p.server_cert, p.client_cert, p.client_key}) {
    after[f.filename().string()] = ReadFile(f);
  }
  EXPECT_EQ(after, before);
}

TEST(DevPkiTest, RefusesAnUnparsableFile) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &p).ok());
  testing::WriteFile(p.client_cert, "not a certificate\n", 0644);
  Status s = EnsureDevPki(tmp.path(), &p);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("client.pem"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(p.client_cert), "not a certificate\n");
}

TEST(DevPkiTest, RefusesAKeyFromAnotherSet) {
  TempDir a, b;
  DevPkiPaths pa, pb;
  ASSERT_TRUE(EnsureDevPki(a.path(), &pa).ok());
  ASSERT_TRUE(EnsureDevPki(b.path(), &pb).ok());
  testing::WriteFile(pa.server_key, ReadFile(pb.server_key), 0600);
  Status s = EnsureDevPki(a.path(), &pa);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("server-key.pem"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.message();
}

TEST(DevPkiTest, RefusesAKeyReadableByOthers) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &p).ok());
  std::filesystem::permissions(p.ca_key, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  Status s = EnsureDevPki(tmp.path(), &p);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("ca-key.pem"), std::string::npos) << s.message();
}

TEST(DevPkiTest, ServerCertificateVerifiesAgainstTheCaForLocalhostAndLoopback) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &p).ok());
  X509Ptr ca = LoadCert(p.ca_cert), server = LoadCert(p.server_cert);
  ASSERT_TRUE(ca && server);
  EXPECT_TRUE(VerifiesAgainst(server.get(), ca.get(), X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(VerifiesAgainst(server.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));  // serverAuth only
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.2", 0), 0);
  EXPECT_EQ(X509_check_host(server.get(), "example.com", 0, 0, nullptr), 0);
}

TEST(DevPkiTest, CertificatesHaveTheRequestedShape) {
  TempDir tmp;
  DevPkiPaths p;
  ASSERT_TRUE(EnsureDevPki(tmp.path(), &p).ok());
  X509Ptr ca = LoadCert(p.ca_cert), server = LoadCert(p.server_cert), client = LoadCert(p.client_cert);
  ASSERT_TRUE(ca && server && client);

  // CA: CA:TRUE, keyCertSign, about ten years.
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_GE(DaysLeft(ca.get()), 3649);
  EXPECT_LE(DaysLeft(ca.get()), 3650);
  // Leaves: one year, not CAs, the right extended key usage.
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(X509_check_ca(client.get()), 0);
  EXPECT_GE(DaysLeft(server.get()), 364);
  EXPECT_LE(DaysLeft(server.get()), 365);
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_extended_key_usage(client.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_TRUE(VerifiesAgainst(client.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));
  char cn[64] = {};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(client.get()), NID_commonName, cn, sizeof(cn)), 0);
  EXPECT_STREQ(cn, "sesctl-dev");

  // EC P-256 keys and random 128-bit serials (top bit clear: positive DER).
  for (X509* c : {ca.get(), server.get(), client.get()}) {
    EVP_PKEY* pub = X509_get0_pubkey(c);
    ASSERT_NE(pub, nullptr);
    EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));
    char group[32] = {};
    size_t len = 0;
    ASSERT_EQ(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &len), 1);
    EXPECT_STREQ(group, "prime256v1");
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), nullptr),
                                                       BN_free);
    EXPECT_EQ(BN_num_bits(serial.get()), 127);
  }
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(server.get()), X509_get0_serialNumber(client.get())), 0);
}

TEST(DevPkiTest, TwoDirectoriesGetDifferentCas) {
  TempDir a, b;
  DevPkiPaths pa, pb;
  ASSERT_TRUE(EnsureDevPki(a.path(), &pa).ok());
  ASSERT_TRUE(EnsureDevPki(b.path(), &pb).ok());
  X509Ptr ca_a = LoadCert(pa.ca_cert), server_b = LoadCert(pb.server_cert);
  EXPECT_NE(ReadFile(pa.ca_key), ReadFile(pb.ca_key));
  EXPECT_FALSE(VerifiesAgainst(server_b.get(), ca_a.get(), X509_PURPOSE_SSL_SERVER));
}

}  // namespace
}  // namespace ses::tls
