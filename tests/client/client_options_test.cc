// The client without a working server: option checks, the errors that name
// the server when it is not there or does not answer, and local checks made
// before anything is sent.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "ses/client/channel.h"
#include "ses/client/client.h"
#include "ses/client/local_encryptor.h"
#include "test_env.h"

namespace ses::client {
namespace {

using testing::TempDir;
using testing::WriteFile;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A loopback TCP port held open by this test. With listen(), connections
// complete in the kernel but nothing ever answers; without it, they are
// refused.
class HeldPort {
 public:
  explicit HeldPort(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    if (listening) {
      EXPECT_EQ(::listen(fd_, 16), 0);
    }
    socklen_t len = sizeof(a);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

ClientOptions Insecure(const std::string& server) {
  ClientOptions o;
  o.server = server;
  o.insecure = true;
  return o;
}

TEST(ClientOptionsTest, ServerMustBeHostColonPort) {
  for (const char* bad : {"", "localhost", ":443", "host:", "host:port", "host:0", "host:65536", "::1:443", "[::1]",
                          "[]:443", "[::1]443"}) {
    Status s = ValidateClientOptions(Insecure(bad));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(s.message().empty()) << bad;
  }
  for (const char* good : {"localhost:443", "127.0.0.1:1", "[::1]:65535", "sesd.example:7443"}) {
    EXPECT_TRUE(ValidateClientOptions(Insecure(good)).ok()) << good;
  }
}

TEST(ClientOptionsTest, TlsFilesMustExistAndComeInPairs) {
  TempDir dir;
  WriteFile(dir.Join("ca.pem"), "x");
  ClientOptions o;
  o.server = "localhost:1";
  o.ca_file = dir.Join("missing.pem");
  Status s = ValidateClientOptions(o);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(s.message(), dir.Join("missing.pem"))) << s.message();

  o.ca_file = dir.path().string();  // a directory
  EXPECT_EQ(ValidateClientOptions(o).code(), StatusCode::kInvalidArgument);

  o.ca_file = dir.Join("ca.pem");
  o.cert_file = dir.Join("ca.pem");
  s = ValidateClientOptions(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "together")) << s.message();

  o.cert_file.clear();
  o.insecure = true;
  EXPECT_EQ(ValidateClientOptions(o).code(), StatusCode::kInvalidArgument);
}

TEST(ClientOptionsTest, ConnectRefusesBadOptionsAndBadTlsFiles) {
  EXPECT_EQ(Client::Connect(Insecure("nohost")).status().code(), StatusCode::kInvalidArgument);
  TempDir dir;
  WriteFile(dir.Join("ca.pem"), "not a certificate");
  ClientOptions o;
  o.server = "localhost:1";
  o.ca_file = dir.Join("ca.pem");
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status().message(), dir.Join("ca.pem"))) << c.status().message();
}

TEST(ClientTest, RefusedConnectionIsUnavailableAndNamesTheServer) {
  HeldPort port(/*listening=*/false);
  auto c = Client::Connect(Insecure(port.address()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();  // lazy: nothing is dialled yet
  auto echo = (*c)->Echo(std::vector<uint8_t>{1, 2, 3});
  ASSERT_FALSE(echo.ok());
  EXPECT_EQ(echo.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(echo.status().message(), "sesd at " + port.address())) << echo.status().message();

  // Streams report the same, after the source was asked for nothing or little.
  Status s = (*c)->EncryptStream(
      "default", {}, [](std::span<uint8_t>) -> StatusOr<size_t> { return size_t{0}; },
      [](std::span<const uint8_t>) { return OkStatus(); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s.message(), port.address())) << s.message();
}

TEST(ClientTest, SilentServerHitsTheDeadlineAndNamesTheServer) {
  HeldPort port(/*listening=*/true);  // accepts TCP, never speaks HTTP/2
  ClientOptions o = Insecure(port.address());
  o.timeout = std::chrono::milliseconds(300);
  auto c = Client::Connect(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Encrypt("default", {}, std::vector<uint8_t>{1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Contains(r.status().message(), "sesd at " + port.address())) << r.status().message();
}

TEST(ClientTest, BytesThatAreNoMessageFailBeforeAnythingIsSent) {
  HeldPort port(/*listening=*/false);
  auto c = Client::Connect(Insecure(port.address()));
  ASSERT_TRUE(c.ok());
  const std::vector<uint8_t> junk(100, 0xab);
  auto re = (*c)->ReEncrypt(junk, {}, "default");
  EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(re.status().message(), kAuthenticationFailedMessage);
  auto key = (*c)->DecryptDataKey(junk, {});
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().message(), kAuthenticationFailedMessage);
}

TEST(ClientTest, GrpcStatusKeepsCodeAndServerMessage) {
  Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no keyring 'x'"), "h:1");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no keyring 'x'");
  s = FromGrpcStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too big"), "h:1");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  s = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), "h:1");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "sesd at h:1 unavailable: down");
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK, "h:1").ok());
}

TEST(LocalEncryptorTest, MissingCipherPluginIsOneClearError) {
  HeldPort port(/*listening=*/false);
  auto c = Client::Connect(Insecure(port.address()));
  ASSERT_TRUE(c.ok());
  TempDir empty;
  const char* old = std::getenv("SES_PLUGIN_DIR");
  std::string saved = old ? old : "";
  ::setenv("SES_PLUGIN_DIR", empty.path().c_str(), 1);
  auto local = LocalEncryptor::Create(**c);
  if (old) {
    ::setenv("SES_PLUGIN_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("SES_PLUGIN_DIR");
  }
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(local.status().message(), "cipher-openssl")) << local.status().message();
}

}  // namespace
}  // namespace ses::client
