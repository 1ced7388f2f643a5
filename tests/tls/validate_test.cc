// ValidateTlsFiles and the argument checks of ServerTls / ClientCredentials:
// each bad input gives one clear error naming the file, never key bytes.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "tls/credentials.h"
#include "tls/dev_pki.h"

namespace ses::tls {
namespace {

using testing::TempDir;

class ValidateTlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = EnsureDevPki(tmp_.path() / "dev", &pki_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    good_.cert_file = pki_.server_cert;
    good_.key_file = pki_.server_key;
    good_.client_ca_file = pki_.ca_cert;
  }
  std::filesystem::path Path(const char* name) const { return tmp_.path() / name; }

  TempDir tmp_;
  DevPkiPaths pki_;
  TlsFiles good_;
};

void ExpectError(const Status& s, StatusCode code, const std::string& must_name, const std::string& must_say) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(must_name), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(must_say), std::string::npos) << s.ToString();
}

TEST_F(ValidateTlsFilesTest, AcceptsTheDevServerFiles) {
  Status s = ValidateTlsFiles(good_);
  EXPECT_TRUE(s.ok()) << s.ToString();
  TlsFiles no_mtls = good_;
  no_mtls.client_ca_file.clear();
  no_mtls.min_version = "";
  EXPECT_TRUE(ValidateTlsFiles(no_mtls).ok());
}

TEST_F(ValidateTlsFilesTest, MissingCertificateIsNotFound) {
  TlsFiles f = good_;
  f.cert_file = Path("nope.pem");
  ExpectError(ValidateTlsFiles(f), StatusCode::kNotFound, f.cert_file.string(), "certificate");
}

TEST_F(ValidateTlsFilesTest, MissingKeyIsNotFound) {
  TlsFiles f = good_;
  f.key_file = Path("nope-key.pem");
  ExpectError(ValidateTlsFiles(f), StatusCode::kNotFound, f.key_file.string(), "private key");
}

TEST_F(ValidateTlsFilesTest, GarbageCertificateIsInvalid) {
  TlsFiles f = good_;
  f.cert_file = Path("garbage.pem");
  testing::WriteFile(f.cert_file, "hello, I am not PEM\n", 0644);
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, f.cert_file.string(), "no PEM certificate");
}

TEST_F(ValidateTlsFilesTest, CorruptCertificateBlockIsInvalid) {
  TlsFiles f = good_;
  f.cert_file = Path("corrupt.pem");
  testing::WriteFile(f.cert_file, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0644);
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, f.cert_file.string(), "not a valid");
}

TEST_F(ValidateTlsFilesTest, GarbageKeyIsInvalidAndItsBytesAreNotShown) {
  TlsFiles f = good_;
  f.key_file = Path("garbage-key.pem");
  testing::WriteFile(f.key_file, "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n");
  Status s = ValidateTlsFiles(f);
  ExpectError(s, StatusCode::kInvalidArgument, f.key_file.string(), "no valid PEM private key");
  EXPECT_EQ(s.message().find("U0VDUkVU"), std::string::npos) << s.ToString();
}

TEST_F(ValidateTlsFilesTest, EncryptedKeyIsRefusedWithoutPrompting) {
  TlsFiles f = good_;
  f.key_file = Path("encrypted-key.pem");
  testing::WriteNewKey(f.key_file, /*encrypted=*/true);
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, f.key_file.string(), "encrypted");
}

TEST_F(ValidateTlsFilesTest, MismatchedKeyIsInvalid) {
  TlsFiles f = good_;
  f.key_file = pki_.client_key;  // a real key, just not this certificate's
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, pki_.client_key.string(), "does not match");
}

TEST_F(ValidateTlsFilesTest, ExpiredCertificateReportsNotAfter) {
  TlsFiles f = good_;
  f.cert_file = Path("expired.pem");
  f.key_file = Path("expired-key.pem");
  testing::WriteExpiredCert(f.cert_file, f.key_file, /*days_ago=*/3);
  Status s = ValidateTlsFiles(f);
  ExpectError(s, StatusCode::kFailedPrecondition, f.cert_file.string(), "expired (notAfter ");
  EXPECT_NE(s.message().find("GMT"), std::string::npos) << s.ToString();
}

TEST_F(ValidateTlsFilesTest, BadClientCaIsInvalid) {
  TlsFiles f = good_;
  f.client_ca_file = Path("ca-garbage.pem");
  testing::WriteFile(f.client_ca_file, "", 0644);
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, f.client_ca_file.string(), "CA file");
}

TEST_F(ValidateTlsFilesTest, DirectoryIsNotARegularFile) {
  TlsFiles f = good_;
  f.cert_file = tmp_.path();
  ExpectError(ValidateTlsFiles(f), StatusCode::kFailedPrecondition, tmp_.path().string(), "not a regular file");
}

TEST_F(ValidateTlsFilesTest, OversizedFileIsRefused) {
  TlsFiles f = good_;
  f.cert_file = Path("huge.pem");
  testing::WriteFile(f.cert_file, std::string((1 << 20) + 1, 'A'), 0644);
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, f.cert_file.string(), "larger than");
}

TEST_F(ValidateTlsFilesTest, UnknownMinVersionIsInvalid) {
  TlsFiles f = good_;
  f.min_version = "1.1";
  ExpectError(ValidateTlsFiles(f), StatusCode::kInvalidArgument, "1.1", "min_version");
}

TEST_F(ValidateTlsFilesTest, ServerTlsRefusesMinVersion13ItCannotEnforce) {
  TlsFiles f = good_;
  f.min_version = "1.3";
  EXPECT_TRUE(ValidateTlsFiles(f).ok());
  auto tls = ServerTls::Create(f, tmp_.path());
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(tls.status().message().find("1.3"), std::string::npos);
}

TEST_F(ValidateTlsFilesTest, ServerTlsRefusesInvalidFilesAndLeavesNoRuntimeDir) {
  TlsFiles f = good_;
  f.key_file = pki_.client_key;
  auto tls = ServerTls::Create(f, tmp_.path() / "run");
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "run"));
}

TEST_F(ValidateTlsFilesTest, ServerTlsKeepsAPrivateCopyAndRemovesItWhenDestroyed) {
  std::filesystem::path runtime;
  {
    auto tls = ServerTls::Create(good_, tmp_.path());
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    runtime = (*tls)->runtime_dir();
    EXPECT_EQ(runtime.parent_path(), tmp_.path());
    EXPECT_EQ(testing::ModeOf(runtime), 0700u);
    for (const auto& e : std::filesystem::directory_iterator(runtime)) {
      EXPECT_EQ(testing::ModeOf(e.path()), 0600u) << e.path();
    }
    EXPECT_TRUE((*tls)->mutual_tls());
    EXPECT_NE((*tls)->served_certificate().find("localhost"), std::string::npos) << (*tls)->served_certificate();
    EXPECT_NE((*tls)->credentials(), nullptr);
  }
  EXPECT_FALSE(std::filesystem::exists(runtime));
}

TEST_F(ValidateTlsFilesTest, ClientCredentialsNeedsBothCertAndKey) {
  auto only_cert = ClientCredentials(pki_.ca_cert, pki_.client_cert, {});
  EXPECT_EQ(only_cert.status().code(), StatusCode::kInvalidArgument);
  auto mismatched = ClientCredentials(pki_.ca_cert, pki_.client_cert, pki_.server_key);
  EXPECT_EQ(mismatched.status().code(), StatusCode::kInvalidArgument);
  auto missing_ca = ClientCredentials(Path("no-ca.pem"));
  EXPECT_EQ(missing_ca.status().code(), StatusCode::kNotFound);
  auto good = ClientCredentials(pki_.ca_cert, pki_.client_cert, pki_.client_key);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_NE(*good, nullptr);
}

}  // namespace
}  // namespace ses::tls
