// The client's defences against a server that misbehaves (FakeCryptoServer):
// a data key sealed to another context is refused by LocalEncryptor, and a
// stream the server stops answering is cancelled after the idle timeout
// instead of hanging. Plus the positive cases against a correct server.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "fake_crypto_server.h"
#include "ses/client/channel.h"
#include "ses/client/client.h"
#include "ses/client/local_encryptor.h"

namespace ses::client {
namespace {

using testing::FakeCryptoServer;
using testing::PatternBytes;
using namespace std::chrono_literals;

constexpr char kOtherContext[] = "server returned a data key for a different encryption context";
// How long a call may take before the test gives up on it: far above any
// idle timeout used here, so only a hang reaches it.
constexpr auto kGenerous = 60s;

const EncryptionContext kMine{{"tenant", "mine"}};
const EncryptionContext kTheirs{{"tenant", "theirs"}};

FakeCryptoServer::Behaviour IgnoringDecryptContext() {
  FakeCryptoServer::Behaviour b;
  b.ignore_decrypt_context = true;
  return b;
}

FakeCryptoServer::Behaviour ChunksThenSilence(int chunks) {
  FakeCryptoServer::Behaviour b;
  b.stream_chunks_then_silence = chunks;
  return b;
}

std::shared_ptr<CipherProvider> Cipher(FakeCryptoServer& server) {
  auto cipher = server.env().registry().NewCipher("cipher-openssl", {});
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  return cipher.ok() ? *cipher : nullptr;
}

std::unique_ptr<Client> Connect(const ClientOptions& o) {
  auto c = Client::Connect(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(CheckGrantContextTest, AcceptsOnlyTheContextAskedFor) {
  HeaderInfo info;
  info.context = {{"app", "billing"}, {"tenant", "42"}};
  EXPECT_TRUE(CheckGrantContext(info, {{"tenant", "42"}, {"app", "billing"}}).ok());
  for (const EncryptionContext& asked : std::vector<EncryptionContext>{
           {}, {{"app", "billing"}}, {{"app", "billing"}, {"tenant", "43"}},
           {{"app", "billing"}, {"tenant", "42"}, {"extra", ""}}, {{"App", "billing"}, {"tenant", "42"}}}) {
    Status s = CheckGrantContext(info, asked);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(s.message(), kOtherContext);
  }
  HeaderInfo empty;
  EXPECT_TRUE(CheckGrantContext(empty, {}).ok());
  EXPECT_EQ(CheckGrantContext(empty, kMine).code(), StatusCode::kFailedPrecondition);
}

TEST(LocalEncryptorDefenceTest, KeySealedToAnotherContextIsRefused) {
  FakeCryptoServer server({.grant_context = kTheirs});
  auto client = Connect(server.InsecureOptions());
  ASSERT_TRUE(client);
  // The client library itself passes the grant through: the data key is
  // genuine, only bound to the wrong context.
  auto grant = client->GenerateDataKey("default", kMine);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  auto info = Engine::Inspect(grant->encrypted_key);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->context, kTheirs);

  auto local = LocalEncryptor::Create(*client, Cipher(server));
  auto sealed = local->Encrypt("default", kMine, PatternBytes(1000));
  EXPECT_EQ(sealed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sealed.status().message(), kOtherContext);
  auto envelope = local->NewEnvelope("default", kMine);
  EXPECT_EQ(envelope.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(envelope.status().message(), kOtherContext);
}

TEST(LocalEncryptorDefenceTest, DecryptRefusesAKeyReleasedForAnotherContext) {
  FakeCryptoServer server(IgnoringDecryptContext());
  auto client = Connect(server.InsecureOptions());
  ASSERT_TRUE(client);
  auto local = LocalEncryptor::Create(*client, Cipher(server));
  const auto plain = PatternBytes(5000);
  auto sealed = local->Encrypt("default", kTheirs, plain);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();

  // This server hands the key out for any context: the client still refuses.
  auto key = client->DecryptDataKey(*sealed, kMine);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto opened = local->Decrypt(*sealed, kMine);
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(opened.status().message(), kOtherContext);

  auto right = local->Decrypt(*sealed, kTheirs);
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ(*right, plain);
}

TEST(LocalEncryptorDefenceTest, HonestServerKeysWorkEndToEnd) {
  FakeCryptoServer server({});
  auto client = Connect(server.InsecureOptions());
  ASSERT_TRUE(client);
  auto local = LocalEncryptor::Create(*client, Cipher(server));
  const auto plain = PatternBytes(70000);
  auto sealed = local->Encrypt("default", kMine, plain);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto by_engine = server.engine().Decrypt(*sealed, kMine);
  ASSERT_TRUE(by_engine.ok()) << by_engine.status().ToString();
  EXPECT_EQ(*by_engine, plain);
  auto opened = local->Decrypt(*sealed, kMine);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  // An empty context is a context too.
  auto empty = local->Encrypt("default", {}, plain);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  ASSERT_TRUE(local->Decrypt(*empty, {}).ok());
}

// A source over `size` pattern bytes.
ByteSource SourceOf(size_t size) {
  auto data = std::make_shared<std::vector<uint8_t>>(PatternBytes(size));
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](std::span<uint8_t> buf) -> StatusOr<size_t> {
    size_t n = std::min(buf.size(), data->size() - *pos);
    std::copy_n(data->begin() + static_cast<ptrdiff_t>(*pos), n, buf.begin());
    *pos += n;
    return n;
  };
}

ByteSink Discard() {
  return [](std::span<const uint8_t>) { return OkStatus(); };
}

// Runs `call` on its own thread and waits for it generously: a stream that
// hangs fails the test instead of hanging it (the server's destructor then
// cancels the call, so the thread still ends).
Status RunBounded(std::function<Status()> call) {
  auto done = std::async(std::launch::async, std::move(call));
  if (done.wait_for(kGenerous) != std::future_status::ready) {
    ADD_FAILURE() << "stream still running after " << kGenerous.count() << " s";
    return InternalError("hung");
  }
  return done.get();
}

class StreamIdleTest : public ::testing::Test {
 protected:
  ClientOptions Options(FakeCryptoServer& server, std::chrono::milliseconds idle) {
    ClientOptions o = server.InsecureOptions();
    o.stream_idle_timeout = idle;
    return o;
  }
  std::string Silent(FakeCryptoServer& server, const std::string& duration) {
    return "sesd at " + server.address() + " sent nothing for " + duration;
  }
};

TEST_F(StreamIdleTest, SilentServerEndsEncryptStreamWithDeadlineExceeded) {
  FakeCryptoServer server({});
  auto client = Connect(Options(server, 300ms));
  ASSERT_TRUE(client);
  // A few bytes: every write completes, then only the server's answer is
  // awaited.
  Status s = RunBounded([&] { return client->EncryptStream("default", kMine, SourceOf(100), Discard()); });
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(s.message(), Silent(server, "300 ms"));
  EXPECT_EQ(server.streams_started(), 1);
}

TEST_F(StreamIdleTest, ServerThatStopsReadingEndsDecryptStream) {
  // 8 MiB the server never reads: the writer blocks under flow control
  // while the reader waits, and both are released by the cancel.
  FakeCryptoServer server({});
  auto client = Connect(Options(server, 2000ms));
  ASSERT_TRUE(client);
  Status s = RunBounded([&] { return client->DecryptStream(kMine, SourceOf(8 << 20), Discard()); });
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(s.message(), Silent(server, "2 s"));
}

TEST_F(StreamIdleTest, ServerThatGoesSilentMidStreamIsCancelled) {
  FakeCryptoServer server(ChunksThenSilence(3));
  auto client = Connect(Options(server, 300ms));
  ASSERT_TRUE(client);
  std::vector<uint8_t> got;
  Status s = RunBounded([&] {
    return client->EncryptStream("default", kMine, SourceOf(10), [&](std::span<const uint8_t> b) {
      got.insert(got.end(), b.begin(), b.end());
      return OkStatus();
    });
  });
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(got.size(), 3 * std::string("partial output").size());
  // The server saw the cancel: the call is gone there too.
  for (int i = 0; i < 60000 && server.streams_cancelled() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(server.streams_cancelled(), 1);
}

// Time spent in the caller's source or sink is not the server's silence: a
// source that takes three idle periods still gets its bytes written. The
// check is a lower bound on the time taken, which only a watchdog that
// fired early could break.
TEST_F(StreamIdleTest, SlowSourceAndSinkDoNotCountAsIdle) {
  constexpr auto kIdle = 500ms;
  FakeCryptoServer server(ChunksThenSilence(1));
  auto client = Connect(Options(server, kIdle));
  ASSERT_TRUE(client);
  int source_calls = 0;
  ByteSource slow_source = [&](std::span<uint8_t> buf) -> StatusOr<size_t> {
    if (++source_calls > 1) return size_t{0};
    std::this_thread::sleep_for(3 * kIdle);
    buf[0] = 'x';
    return size_t{1};
  };
  const auto start = std::chrono::steady_clock::now();
  Status s = RunBounded([&] { return client->EncryptStream("default", kMine, slow_source, Discard()); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(source_calls, 2);  // the write after the slow read went through
  EXPECT_GE(took, 4 * kIdle);

  int sink_calls = 0;
  ByteSink slow_sink = [&](std::span<const uint8_t>) {
    ++sink_calls;
    std::this_thread::sleep_for(3 * kIdle);
    return OkStatus();
  };
  const auto start2 = std::chrono::steady_clock::now();
  s = RunBounded([&] { return client->DecryptStream(kMine, SourceOf(10), slow_sink); });
  const auto took2 = std::chrono::steady_clock::now() - start2;
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_EQ(sink_calls, 1);
  EXPECT_GE(took2, 4 * kIdle);
}

TEST(StreamIdleOptionsTest, IdleTimeoutMustBePositive) {
  ClientOptions o;
  o.server = "localhost:1";
  o.insecure = true;
  EXPECT_EQ(o.stream_idle_timeout, 60s);
  for (auto bad : {0ms, -5ms}) {
    o.stream_idle_timeout = bad;
    Status s = ValidateClientOptions(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), "stream idle timeout must be positive");
  }
}

}  // namespace
}  // namespace ses::client
