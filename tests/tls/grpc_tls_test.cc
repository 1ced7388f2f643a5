// Real gRPC round trips over ServerTls: TLS and mTLS against the dev PKI,
// a wrong CA refused, certificate reload without dropping open connections,
// and the TLS version floor gRPC 1.51 enforces.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <openssl/ssl.h>

#include "test_util.h"
#include "tls/credentials.h"
#include "tls/dev_pki.h"

namespace ses::tls {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr auto kCallTimeout = std::chrono::seconds(20);
// HealthCheckResponse{status: SERVING}: field 1, varint 1.
const std::string kServingReply("\x08\x01", 2);

class Server {
 public:
  explicit Server(const std::shared_ptr<grpc::ServerCredentials>& creds) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", creds, &port_);
    // gRPC wants one service of its own besides the health service; this
    // one answers UNIMPLEMENTED to everything.
    builder.RegisterCallbackGenericService(&unimplemented_);
    server_ = builder.BuildAndStart();
  }
  ~Server() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  bool started() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::Server> server_;
};

// Each channel gets its own connection, so one test's channels never share.
std::shared_ptr<grpc::Channel> Connect(const Server& server, const std::shared_ptr<grpc::ChannelCredentials>& creds) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(server.target(), creds, args);
}

std::shared_ptr<grpc::ChannelCredentials> Creds(const std::filesystem::path& ca,
                                                const std::filesystem::path& cert = {},
                                                const std::filesystem::path& key = {}) {
  auto creds = ClientCredentials(ca, cert, key);
  EXPECT_TRUE(creds.ok()) << creds.status().ToString();
  return creds.ok() ? *creds : nullptr;
}

// grpc.health.v1.Health/Check for the whole server (empty request), through
// the generic stub: no generated health client is needed.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, std::string* reply = nullptr) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  grpc::CompletionQueue cq;
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  auto call = stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (status.ok() && reply != nullptr) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(response.Dump(&slices).ok());
    reply->clear();
    for (const auto& s : slices) reply->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

// A server dev PKI plus a second, unrelated one ("other"), as in the field:
// a client that trusts only the other CA must be refused.
class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = EnsureDevPki(tmp_.path() / "dev", &pki_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = EnsureDevPki(tmp_.path() / "other", &other_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<ServerTls> MakeTls(const TlsFiles& files) {
    auto tls = ServerTls::Create(files, tmp_.path());
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    return tls.ok() ? std::move(*tls) : nullptr;
  }

  TempDir tmp_;
  DevPkiPaths pki_;
  DevPkiPaths other_;
};

TEST_F(GrpcTlsTest, HealthCheckSucceedsWithTheDevCa) {
  auto tls = MakeTls({pki_.server_cert, pki_.server_key, {}, "1.2"});
  ASSERT_NE(tls, nullptr);
  Server server(tls->credentials());
  ASSERT_TRUE(server.started());

  auto channel = Connect(server, Creds(pki_.ca_cert));
  EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + kCallTimeout));
  std::string reply;
  grpc::Status st = HealthCheck(channel, &reply);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(reply, kServingReply);
}

TEST_F(GrpcTlsTest, AnotherCaIsRefused) {
  auto tls = MakeTls({pki_.server_cert, pki_.server_key, {}, "1.2"});
  ASSERT_NE(tls, nullptr);
  Server server(tls->credentials());
  ASSERT_TRUE(server.started());

  grpc::Status st = HealthCheck(Connect(server, Creds(other_.ca_cert)));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
}

TEST_F(GrpcTlsTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  auto tls = MakeTls({pki_.server_cert, pki_.server_key, pki_.ca_cert, "1.2"});
  ASSERT_NE(tls, nullptr);
  Server server(tls->credentials());
  ASSERT_TRUE(server.started());

  grpc::Status without_cert = HealthCheck(Connect(server, Creds(pki_.ca_cert)));
  EXPECT_FALSE(without_cert.ok());
  EXPECT_EQ(without_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << without_cert.error_message();

  grpc::Status foreign_cert =
      HealthCheck(Connect(server, Creds(pki_.ca_cert, other_.client_cert, other_.client_key)));
  EXPECT_FALSE(foreign_cert.ok());
  EXPECT_EQ(foreign_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << foreign_cert.error_message();

  std::string reply;
  grpc::Status with_cert = HealthCheck(Connect(server, Creds(pki_.ca_cert, pki_.client_cert, pki_.client_key)), &reply);
  ASSERT_TRUE(with_cert.ok()) << with_cert.error_message();
  EXPECT_EQ(reply, kServingReply);
}

TEST_F(GrpcTlsTest, ReloadSwapsTheCertificateWithoutDroppingOpenConnections) {
  // The operator's files, which the test edits like an operator would.
  const std::filesystem::path op_cert = tmp_.path() / "op-server.pem";
  const std::filesystem::path op_key = tmp_.path() / "op-server-key.pem";
  WriteFile(op_cert, ReadFile(pki_.server_cert), 0644);
  WriteFile(op_key, ReadFile(pki_.server_key), 0600);
  auto tls = MakeTls({op_cert, op_key, {}, "1.2"});
  ASSERT_NE(tls, nullptr);
  Server server(tls->credentials());
  ASSERT_TRUE(server.started());

  auto old_channel = Connect(server, Creds(pki_.ca_cert));
  ASSERT_TRUE(HealthCheck(old_channel).ok());
  const std::filesystem::path identity_copy = tls->runtime_dir() / "identity.pem";
  const std::string served_before = ReadFile(identity_copy);

  // A broken certificate is refused and the private copy is left alone.
  WriteFile(op_cert, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n", 0644);
  Status s = tls->Reload();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(op_cert.string()), std::string::npos) << s.ToString();
  // Half-way through an operator's update: new certificate, old key.
  WriteFile(op_cert, ReadFile(other_.server_cert), 0644);
  s = tls->Reload();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.ToString();
  EXPECT_EQ(ReadFile(identity_copy), served_before);
  EXPECT_TRUE(HealthCheck(Connect(server, Creds(pki_.ca_cert))).ok()) << "old certificate no longer served";

  // The complete update is taken.
  WriteFile(op_key, ReadFile(other_.server_key), 0600);
  s = tls->Reload();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(ReadFile(identity_copy), served_before);

  // New handshakes pick it up once the provider has polled the copy.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool new_ca_works = false;
  while (!new_ca_works && std::chrono::steady_clock::now() < give_up) {
    new_ca_works = HealthCheck(Connect(server, Creds(other_.ca_cert))).ok();
    if (!new_ca_works) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(new_ca_works) << "the reloaded certificate was not served within 20 s";

  // The connection opened before the reload is still up: a reconnect would
  // fail, since this channel trusts only the old CA.
  grpc::Status st = HealthCheck(old_channel);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(HealthCheck(Connect(server, Creds(pki_.ca_cert))).ok());
}

// One raw TLS handshake with OpenSSL, versions pinned; returns the version
// negotiated, or 0 if the handshake failed.
int RawHandshake(int port, int min_version, int max_version) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv {};
  tv.tv_sec = 20;  // a hung server fails the test instead of hanging it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  // Level 0 so this client really offers TLS 1.0/1.1: the refusal must come
  // from the server.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  int version = SSL_connect(ssl.get()) == 1 ? SSL_version(ssl.get()) : 0;
  if (version != 0) SSL_shutdown(ssl.get());
  ::close(fd);
  return version;
}

TEST_F(GrpcTlsTest, ServerAcceptsTls12And13AndRefusesOlder) {
  auto tls = MakeTls({pki_.server_cert, pki_.server_key, {}, "1.2"});
  ASSERT_NE(tls, nullptr);
  Server server(tls->credentials());
  ASSERT_TRUE(server.started());

  EXPECT_EQ(RawHandshake(server.port(), TLS1_VERSION, TLS1_1_VERSION), 0);
  EXPECT_EQ(RawHandshake(server.port(), TLS1_2_VERSION, TLS1_2_VERSION), TLS1_2_VERSION);
  EXPECT_EQ(RawHandshake(server.port(), TLS1_2_VERSION, TLS1_3_VERSION), TLS1_3_VERSION);
}

}  // namespace
}  // namespace ses::tls
