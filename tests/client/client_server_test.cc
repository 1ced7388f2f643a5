// The client against sesd's real gRPC server and a real engine, in process:
// every call, its errors, streams of any size, local envelope mode and mTLS.
#include <gtest/gtest.h>

#include <cstdlib>

#include "in_process_server.h"
#include "ses/client/client.h"
#include "ses/client/local_encryptor.h"
#include "ses/engine.h"
#include "tls/dev_pki.h"

namespace ses::client {
namespace {

using testing::InProcessServer;
using testing::PatternBytes;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class ClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    auto c = Client::Connect(server_.InsecureOptions());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }

  // A source over `data` that hands out at most `step` bytes per read.
  static ByteSource SourceOf(const std::vector<uint8_t>& data, size_t step = 100000) {
    auto pos = std::make_shared<size_t>(0);
    return [&data, pos, step](std::span<uint8_t> buf) -> StatusOr<size_t> {
      size_t n = std::min({buf.size(), step, data.size() - *pos});
      std::copy_n(data.begin() + static_cast<ptrdiff_t>(*pos), n, buf.begin());
      *pos += n;
      return n;
    };
  }
  static ByteSink SinkTo(std::vector<uint8_t>& out) {
    return [&out](std::span<const uint8_t> b) {
      out.insert(out.end(), b.begin(), b.end());
      return OkStatus();
    };
  }

  InProcessServer server_;
  std::unique_ptr<Client> client_;
  const EncryptionContext ctx_{{"app", "billing"}, {"tenant", "42"}};
};

TEST_F(ClientServerTest, EncryptThenDecryptRoundTrips) {
  const auto plain = PatternBytes(5000);
  auto ct = client_->Encrypt("default", ctx_, plain);
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();
  EXPECT_GT(ct->size(), plain.size());
  auto back = client_->Decrypt(*ct, ctx_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plain);
  // The server's engine opens it too: these are ordinary messages.
  auto direct = server_.engine().Decrypt(*ct, ctx_);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*direct, plain);
}

// What the engine itself says for a context that does not match.
std::string WrongContextMessage(Engine& engine, const std::vector<uint8_t>& ct) {
  auto r = engine.Decrypt(ct, {{"wrong", "context"}});
  EXPECT_FALSE(r.ok());
  return r.status().message();
}

TEST_F(ClientServerTest, DecryptWithWrongContextFailsAsTheEngineDoes) {
  auto ct = client_->Encrypt("default", ctx_, PatternBytes(10));
  ASSERT_TRUE(ct.ok());
  auto back = client_->Decrypt(*ct, {{"app", "billing"}});
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(back.status().message(), WrongContextMessage(server_.engine(), *ct));
  ct->back() ^= 1;
  back = client_->Decrypt(*ct, ctx_);
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(back.status().message(), kAuthenticationFailedMessage);
}

TEST_F(ClientServerTest, UnknownKeyringKeepsTheServersCodeAndMessage) {
  auto ct = client_->Encrypt("nope", {}, PatternBytes(10));
  ASSERT_FALSE(ct.ok());
  auto local = server_.engine().Encrypt("nope", {}, PatternBytes(10));
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(ct.status().code(), local.status().code());
  EXPECT_EQ(ct.status().message(), local.status().message());
}

TEST_F(ClientServerTest, OversizedUnaryCallGetsTheServersLimitMessage) {
  InProcessServer small({.max_message_bytes = 64 * 1024, .max_batch_items = 10});
  small.Start();
  auto c = Client::Connect(small.InsecureOptions());
  ASSERT_TRUE(c.ok());
  auto ct = (*c)->Encrypt("default", {}, PatternBytes(100 * 1024));
  EXPECT_EQ(ct.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(ct.status().message(), "EncryptStream")) << ct.status().message();
  // The stream call has no such limit.
  const auto plain = PatternBytes(300 * 1024);
  std::vector<uint8_t> sealed;
  ASSERT_TRUE((*c)->EncryptStream("default", {}, SourceOf(plain), SinkTo(sealed)).ok());
  auto back = small.engine().Decrypt(sealed, {});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, plain);
}

TEST_F(ClientServerTest, ReEncryptRewrapsUnderTheNewKeyringAndKeepsTheBody) {
  const auto plain = PatternBytes(200000);
  auto ct = client_->Encrypt("default", ctx_, plain);
  ASSERT_TRUE(ct.ok());
  auto re = client_->ReEncrypt(*ct, ctx_, "other");
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  auto old_header = Engine::HeaderSize(*ct);
  auto new_header = Engine::HeaderSize(*re);
  ASSERT_TRUE(old_header.ok() && new_header.ok());
  EXPECT_TRUE(std::equal(ct->begin() + static_cast<ptrdiff_t>(*old_header), ct->end(),
                         re->begin() + static_cast<ptrdiff_t>(*new_header), re->end()));
  auto info = Engine::Inspect(*re);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->keys.size(), 1u);
  EXPECT_TRUE(Contains(info->keys[0].key_uri, "other.key")) << info->keys[0].key_uri;
  auto back = client_->Decrypt(*re, ctx_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plain);
  // The context is required, as for Decrypt.
  EXPECT_EQ(client_->ReEncrypt(*ct, {}, "other").status().message(),
            "encryption context does not match the one sealed in the message");
}

TEST_F(ClientServerTest, DataKeyComesBackFromItsEncryptedForm) {
  auto grant = client_->GenerateDataKey("default", ctx_);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->data_key.size(), 32u);
  auto key = client_->DecryptDataKey(grant->encrypted_key, ctx_);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(*key == grant->data_key);
  auto wrong = client_->DecryptDataKey(grant->encrypted_key, {});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(wrong.status().message(), "context")) << wrong.status().message();
}

TEST_F(ClientServerTest, BatchesReportEachItemOnItsOwn) {
  const auto a = PatternBytes(10, 1), b = PatternBytes(2000, 2);
  std::vector<BatchEncryptItem> items = {{a, ctx_}, {b, {}}};
  auto sealed = client_->BatchEncrypt("default", items);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  ASSERT_EQ(sealed->size(), 2u);
  ASSERT_TRUE((*sealed)[0].ok() && (*sealed)[1].ok());

  const std::vector<uint8_t> junk(64, 7);
  std::vector<BatchDecryptItem> open = {
      {*(*sealed)[0], ctx_}, {junk, {}}, {*(*sealed)[1], {}}, {*(*sealed)[1], ctx_}};
  auto opened = client_->BatchDecrypt(open);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_EQ(opened->size(), 4u);
  ASSERT_TRUE((*opened)[0].ok());
  EXPECT_EQ(*(*opened)[0], a);
  EXPECT_EQ((*opened)[1].status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*opened)[2].ok());
  EXPECT_EQ(*(*opened)[2], b);
  EXPECT_EQ((*opened)[3].status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains((*opened)[3].status().message(), "context")) << (*opened)[3].status().message();
}

TEST_F(ClientServerTest, StreamsCarryMessagesOfManyFrames) {
  const auto plain = PatternBytes(3 * 1024 * 1024 + 17);
  std::vector<uint8_t> sealed, back;
  Status s = client_->EncryptStream("default", ctx_, SourceOf(plain, 70000), SinkTo(sealed));
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = client_->DecryptStream(ctx_, SourceOf(sealed, 12345), SinkTo(back));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(back, plain);
  // Unary and stream messages are the same format.
  auto unary = client_->Decrypt(sealed, ctx_);
  ASSERT_TRUE(unary.ok());
  EXPECT_EQ(*unary, plain);
}

TEST_F(ClientServerTest, TruncatedStreamFailsAtTheEnd) {
  auto sealed = client_->Encrypt("default", ctx_, PatternBytes(200000));
  ASSERT_TRUE(sealed.ok());
  sealed->resize(sealed->size() - 10);
  std::vector<uint8_t> back;
  Status s = client_->DecryptStream(ctx_, SourceOf(*sealed), SinkTo(back));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), kAuthenticationFailedMessage);
}

TEST_F(ClientServerTest, SourceAndSinkFailuresEndTheStreamWithTheirOwnError) {
  const auto plain = PatternBytes(1024 * 1024);
  auto pos = std::make_shared<size_t>(0);
  ByteSource failing = [&](std::span<uint8_t> buf) -> StatusOr<size_t> {
    if (*pos >= 300000) return Status(StatusCode::kFailedPrecondition, "disk on fire");
    size_t n = std::min(buf.size(), plain.size() - *pos);
    std::copy_n(plain.begin() + static_cast<ptrdiff_t>(*pos), n, buf.begin());
    *pos += n;
    return n;
  };
  std::vector<uint8_t> sealed;
  Status s = client_->EncryptStream("default", ctx_, failing, SinkTo(sealed));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "disk on fire");

  int calls = 0;
  ByteSink refusing = [&](std::span<const uint8_t>) {
    ++calls;
    return Status(StatusCode::kOutOfRange, "sink full");
  };
  s = client_->EncryptStream("default", ctx_, SourceOf(plain), refusing);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(calls, 1);  // never called again after it failed
}

TEST_F(ClientServerTest, StreamToUnknownKeyringFailsWithTheServersError) {
  const auto plain = PatternBytes(500000);
  std::vector<uint8_t> sealed;
  Status s = client_->EncryptStream("nope", ctx_, SourceOf(plain), SinkTo(sealed));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "nope")) << s.ToString();
  EXPECT_TRUE(sealed.empty());
}

TEST_F(ClientServerTest, EchoReturnsThePayload) {
  const auto payload = PatternBytes(1000);
  auto back = client_->Echo(payload);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, payload);
}

TEST_F(ClientServerTest, LocalEnvelopeMessagesInteroperateWithTheServer) {
  ::setenv("SES_PLUGIN_DIR", SES_TEST_PLUGIN_DIR, 1);
  auto local = LocalEncryptor::Create(*client_);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  const auto plain = PatternBytes(150000);

  auto sealed_here = (*local)->Encrypt("default", ctx_, plain);
  ASSERT_TRUE(sealed_here.ok()) << sealed_here.status().ToString();
  auto by_server = client_->Decrypt(*sealed_here, ctx_);
  ASSERT_TRUE(by_server.ok()) << by_server.status().ToString();
  EXPECT_EQ(*by_server, plain);

  auto sealed_there = client_->Encrypt("default", ctx_, plain);
  ASSERT_TRUE(sealed_there.ok());
  auto opened_here = (*local)->Decrypt(*sealed_there, ctx_);
  ASSERT_TRUE(opened_here.ok()) << opened_here.status().ToString();
  EXPECT_EQ(*opened_here, plain);

  auto refused = (*local)->Decrypt(*sealed_here, {});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), WrongContextMessage(server_.engine(), *sealed_here));

  // One data key, many messages, each under its own message id.
  auto envelope = (*local)->NewEnvelope("default", ctx_);
  ASSERT_TRUE(envelope.ok());
  auto m1 = (*envelope)->Encrypt(plain);
  auto m2 = (*envelope)->Encrypt(plain);
  ASSERT_TRUE(m1.ok() && m2.ok());
  EXPECT_NE(*m1, *m2);
  auto o2 = client_->Decrypt(*m2, ctx_);
  ASSERT_TRUE(o2.ok());
  EXPECT_EQ(*o2, plain);
}

TEST(ClientTlsTest, MutualTlsWithTheDevPki) {
  testing::TempDir dir;
  tls::DevPkiPaths pki;
  InProcessServer server;
  server.StartWithDevPki(dir.path(), &pki);
  const std::string port = server.address().substr(server.address().rfind(':') + 1);

  ClientOptions o;
  o.server = "localhost:" + port;
  o.ca_file = pki.ca_cert.string();
  o.cert_file = pki.client_cert.string();
  o.key_file = pki.client_key.string();
  auto c = Client::Connect(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto ct = (*c)->Encrypt("default", {}, PatternBytes(100));
  ASSERT_TRUE(ct.ok()) << ct.status().ToString();

  // Without a client certificate the server refuses the handshake.
  o.cert_file.clear();
  o.key_file.clear();
  o.timeout = std::chrono::milliseconds(5000);
  auto anonymous = Client::Connect(o);
  ASSERT_TRUE(anonymous.ok());
  auto refused = (*anonymous)->Encrypt("default", {}, PatternBytes(100));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), "sesd at localhost:" + port)) << refused.status().message();
}

}  // namespace
}  // namespace ses::client
