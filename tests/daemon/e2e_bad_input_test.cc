// Bad input over the wire against a real sesd: every kind gets the right
// gRPC status code and one clear message, while another client keeps doing
// good round trips that must all succeed. The daemon logs each failure as a
// "call failed" line with the method and code, and never the plaintext.
//
// The daemon runs with small limits (64 KiB messages, 8 batch items) so the
// limits are cheap to cross.
#include <gtest/gtest.h>

#include <grpcpp/client_context.h>

#include "e2e_util.h"
#include "ses/client/client.h"
#include "ses/engine.h"
#include "sesd_process.h"
#include "test_env.h"

namespace ses::testing {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kMaxMessageBytes = 65536;
constexpr size_t kMaxBatchItems = 8;
const EncryptionContext kContext = {{"tenant", "acme"}, {"purpose", "bad-input"}};

// Every plaintext is made of this, so a log or an error that shows any of
// them shows the marker.
const std::string kMarker = "SES-PLAINTEXT-MARKER-5e11f0";

Bytes Marked(size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(kMarker[i % kMarker.size()]);
  return out;
}

std::string AsString(const Bytes& b) { return std::string(b.begin(), b.end()); }

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    SesdOptions options;
    options.env = {{"SES_SERVER__MAX_MESSAGE_BYTES", std::to_string(kMaxMessageBytes)},
                   {"SES_SERVER__MAX_BATCH_ITEMS", std::to_string(kMaxBatchItems)}};
    auto started = SesdProcess::Start(dir_->path() / "dev", options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    sesd_ = started->release();
  }
  static void TearDownTestSuite() {
    delete sesd_;
    sesd_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(sesd_, nullptr);
    auto c = client::Client::Connect(sesd_->ClientOptions());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    channel_ = OwnChannel(sesd_->ClientOptions());
    ASSERT_NE(channel_, nullptr);
    stub_ = RawStub(channel_);
    traffic_ = std::make_unique<RoundTripLoop>(sesd_->ClientOptions(), "dev", kContext,
                                               [](uint32_t i) { return Marked(100 + i % 5000); });
    // The good client is going before the first bad input...
    ASSERT_TRUE(traffic_->WaitForMore(1, std::chrono::seconds(30))) << traffic_->first_failure();
  }

  void TearDown() override {
    if (traffic_ == nullptr) return;  // SetUp failed
    // ...and still going after the last one.
    EXPECT_TRUE(traffic_->WaitForMore(3, std::chrono::seconds(30))) << traffic_->first_failure();
    traffic_->Stop();
    EXPECT_EQ(traffic_->failures(), 0) << traffic_->first_failure();
    EXPECT_GT(traffic_->round_trips(), 0);
    const std::string log = sesd_->Log();
    EXPECT_FALSE(Contains(log, kMarker.substr(4, 17))) << "plaintext in the daemon log";
  }

  // The status must be `code` and its message must never show plaintext.
  static void ExpectError(const Status& status, StatusCode code, const std::string& what) {
    EXPECT_EQ(status.code(), code) << what << ": " << status.ToString();
    EXPECT_FALSE(Contains(status.message(), kMarker.substr(4, 17))) << what << ": plaintext in the error";
  }
  static void ExpectAuthenticationFailed(const Status& status, const std::string& what) {
    ExpectError(status, StatusCode::kInvalidArgument, what);
    EXPECT_EQ(status.message(), "authentication failed") << what;
  }

  Bytes Seal(size_t n = 5000) {
    auto sealed = client_->Encrypt("dev", kContext, Marked(n));
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : Bytes();
  }

  // Runs a stream through the raw stub with `requests` sent in order, then
  // half-closes and reads to the end.
  template <typename Request>
  grpc::Status RawStream(const std::vector<Request>& requests) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    std::unique_ptr<grpc::ClientReaderWriter<Request, v1::StreamChunk>> stream;
    if constexpr (std::is_same_v<Request, v1::EncryptStreamRequest>) {
      stream = stub_->EncryptStream(&ctx);
    } else {
      stream = stub_->DecryptStream(&ctx);
    }
    for (const auto& r : requests) {
      if (!stream->Write(r)) break;  // the server has ended the call already
    }
    stream->WritesDone();
    v1::StreamChunk chunk;
    while (stream->Read(&chunk)) {
    }
    return stream->Finish();
  }

  static inline TempDir* dir_ = nullptr;
  static inline SesdProcess* sesd_ = nullptr;
  std::unique_ptr<client::Client> client_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Crypto::Stub> stub_;
  std::unique_ptr<RoundTripLoop> traffic_;
};

Status FromGrpc(const grpc::Status& s) {
  return s.ok() ? Status() : Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

// docs/api.md: anything wrong with the ciphertext is INVALID_ARGUMENT
// "authentication failed" and nothing more; an authentic message with the
// wrong context gets the context-mismatch message (checked only after
// authentication); a header naming a master key this server lacks is
// NOT_FOUND naming that key (the header shows it anyway).
TEST_F(BadInputTest, DamagedCiphertextsSayOnlyAuthenticationFailed) {
  const Bytes good = Seal();
  ASSERT_FALSE(good.empty());
  auto header = Engine::Inspect(good);
  ASSERT_TRUE(header.ok());
  const size_t h = header->header_size;
  ASSERT_LT(h + 20, good.size());

  ExpectAuthenticationFailed(client_->Decrypt(PatternBytes(300, 9), kContext).status(), "garbage");
  ExpectAuthenticationFailed(client_->Decrypt(Bytes(), kContext).status(), "empty");
  for (size_t keep : {size_t{1}, size_t{8}, h / 2, h - 1, h, h + 1, good.size() / 2, good.size() - 1}) {
    const Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    ExpectAuthenticationFailed(client_->Decrypt(truncated, kContext).status(), "truncated to " + std::to_string(keep));
  }
  // Format fields, the header tag, and the body: first, middle and last bytes.
  for (size_t at : {size_t{0}, size_t{5}, h - 1, h, h + 20, good.size() / 2, good.size() - 1}) {
    Bytes flipped = good;
    flipped[at] ^= 0x01;
    ExpectAuthenticationFailed(client_->Decrypt(flipped, kContext).status(), "byte " + std::to_string(at) + " flipped");
  }
  const std::string text = AsString(good);
  const size_t uri_at = text.find("keyfile://");
  ASSERT_NE(uri_at, std::string::npos);
  Bytes other_key = good;
  other_key[uri_at + text.substr(uri_at).find("master.key")] ^= 0x01;  // "master.key" -> "laster.key"
  auto unknown = client_->Decrypt(other_key, kContext);
  ExpectError(unknown.status(), StatusCode::kNotFound, "key URI flipped");
  EXPECT_TRUE(Contains(unknown.status().message(), "laster.key")) << unknown.status().message();

  const std::string mismatch = "encryption context does not match the one sealed in the message";
  for (const EncryptionContext& wrong :
       std::vector<EncryptionContext>{{{"tenant", "evil"}, {"purpose", "bad-input"}},
                                      {{"tenant", "acme"}},
                                      {},
                                      {{"tenant", "acme"}, {"purpose", "bad-input"}, {"x", "y"}}}) {
    auto opened = client_->Decrypt(good, wrong);
    ExpectError(opened.status(), StatusCode::kInvalidArgument, "wrong context");
    EXPECT_EQ(opened.status().message(), mismatch);
  }

  // The same through DecryptStream, DecryptDataKey and ReEncrypt.
  Bytes flipped = good;
  flipped[good.size() - 1] ^= 0x80;
  auto sink = [](std::span<const uint8_t>) { return Status(); };
  auto stream_open = [&](const Bytes& message, const EncryptionContext& context) {
    size_t offset = 0;
    auto source = [&](std::span<uint8_t> buf) -> StatusOr<size_t> {
      const size_t n = std::min(buf.size(), message.size() - offset);
      std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(offset), n, buf.begin());
      offset += n;
      return n;
    };
    return client_->DecryptStream(context, source, sink);
  };
  ExpectAuthenticationFailed(stream_open(flipped, kContext), "DecryptStream flipped");
  ExpectAuthenticationFailed(stream_open(PatternBytes(5000, 8), kContext), "DecryptStream garbage");
  Status s = stream_open(good, {{"tenant", "evil"}});
  ExpectError(s, StatusCode::kInvalidArgument, "DecryptStream context");
  EXPECT_EQ(s.message(), mismatch);

  ExpectAuthenticationFailed(client_->DecryptDataKey(PatternBytes(200, 3), kContext).status(), "DecryptDataKey garbage");
  auto dk = client_->DecryptDataKey(good, {{"tenant", "evil"}});
  ExpectError(dk.status(), StatusCode::kInvalidArgument, "DecryptDataKey context");
  EXPECT_EQ(dk.status().message(), mismatch);
  // ReEncrypt reads only the header: a damaged header tag fails, a damaged
  // body is left for Decrypt to find.
  Bytes bad_tag = good;
  bad_tag[h - 1] ^= 0x01;
  ExpectAuthenticationFailed(client_->ReEncrypt(bad_tag, kContext, "dev").status(), "ReEncrypt header tag");
  ExpectAuthenticationFailed(client_->ReEncrypt(PatternBytes(300, 4), kContext, "dev").status(), "ReEncrypt garbage");
  auto rewrapped = client_->ReEncrypt(flipped, kContext, "dev");
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
  ExpectAuthenticationFailed(client_->Decrypt(*rewrapped, kContext).status(), "rewrapped damaged body");
  // The good one still opens.
  auto opened = client_->Decrypt(good, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(*opened == Marked(5000));
}

TEST_F(BadInputTest, OversizeUnaryPayloadsNameTheLimitAndTheStreamCall) {
  const std::string limit = std::to_string(kMaxMessageBytes);
  auto big = client_->Encrypt("dev", kContext, Marked(kMaxMessageBytes + 1));
  ExpectError(big.status(), StatusCode::kResourceExhausted, "Encrypt");
  EXPECT_TRUE(Contains(big.status().message(), limit)) << big.status().message();
  EXPECT_TRUE(Contains(big.status().message(), "server.max_message_bytes")) << big.status().message();
  EXPECT_TRUE(Contains(big.status().message(), "EncryptStream")) << big.status().message();
  // Exactly at the limit is fine.
  auto at_limit = client_->Encrypt("dev", kContext, Marked(kMaxMessageBytes));
  EXPECT_TRUE(at_limit.ok()) << at_limit.status().ToString();

  // A ciphertext may exceed the plaintext limit by 1 MiB (header and tags), no more.
  const Bytes huge = PatternBytes(kMaxMessageBytes + (1u << 20) + 1, 7);
  auto opened = client_->Decrypt(huge, kContext);
  ExpectError(opened.status(), StatusCode::kResourceExhausted, "Decrypt");
  EXPECT_TRUE(Contains(opened.status().message(), "DecryptStream")) << opened.status().message();
  EXPECT_TRUE(Contains(opened.status().message(), "server.max_message_bytes")) << opened.status().message();

  // A batch item over the limit fails that item only, by the same rule.
  const Bytes small = Marked(10), large = Marked(kMaxMessageBytes + 1);
  std::vector<client::BatchEncryptItem> items = {{small, kContext}, {large, kContext}};
  auto batch = client_->BatchEncrypt("dev", items);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_TRUE((*batch)[0].ok());
  ExpectError((*batch)[1].status(), StatusCode::kResourceExhausted, "batch item");
  EXPECT_TRUE(Contains((*batch)[1].status().message(), "EncryptStream"));

  // One stream message over the limit: the stream call says to send smaller pieces.
  v1::EncryptStreamRequest start;
  start.mutable_start()->set_keyring("dev");
  v1::EncryptStreamRequest data;
  data.set_data(AsString(Marked(kMaxMessageBytes + 1)));
  Status s = FromGrpc(RawStream<v1::EncryptStreamRequest>({start, data}));
  ExpectError(s, StatusCode::kResourceExhausted, "EncryptStream message");
  EXPECT_TRUE(Contains(s.message(), limit)) << s.message();
  EXPECT_TRUE(Contains(s.message(), "smaller pieces")) << s.message();

  // A payload bigger than even gRPC's own cap (the limit plus 2 MiB) is
  // refused by gRPC before SES sees it; still RESOURCE_EXHAUSTED.
  auto beyond = client_->Encrypt("dev", kContext, Marked(kMaxMessageBytes + (3u << 20)));
  ExpectError(beyond.status(), StatusCode::kResourceExhausted, "Encrypt beyond gRPC's cap");
}

TEST_F(BadInputTest, UnknownKeyringIsNotFoundByName) {
  auto sealed = client_->Encrypt("no-such-ring", kContext, Marked(10));
  ExpectError(sealed.status(), StatusCode::kNotFound, "Encrypt");
  EXPECT_TRUE(Contains(sealed.status().message(), "no-such-ring")) << sealed.status().message();

  auto grant = client_->GenerateDataKey("no-such-ring", kContext);
  ExpectError(grant.status(), StatusCode::kNotFound, "GenerateDataKey");
  EXPECT_TRUE(Contains(grant.status().message(), "no-such-ring")) << grant.status().message();

  const Bytes good = Seal();
  auto rewrapped = client_->ReEncrypt(good, kContext, "no-such-ring");
  ExpectError(rewrapped.status(), StatusCode::kNotFound, "ReEncrypt");
  EXPECT_TRUE(Contains(rewrapped.status().message(), "no-such-ring")) << rewrapped.status().message();

  const Bytes plaintext = Marked(1000);
  auto source = [&, done = false](std::span<uint8_t> buf) mutable -> StatusOr<size_t> {
    if (done) return size_t{0};
    done = true;
    std::copy(plaintext.begin(), plaintext.end(), buf.begin());
    return plaintext.size();
  };
  Status stream = client_->EncryptStream("no-such-ring", kContext, source, [](std::span<const uint8_t>) {
    return Status();
  });
  ExpectError(stream, StatusCode::kNotFound, "EncryptStream");
  EXPECT_TRUE(Contains(stream.message(), "no-such-ring")) << stream.message();
}

TEST_F(BadInputTest, BatchesAboveTheItemLimitAreRefusedWhole) {
  const Bytes p = Marked(20);
  std::vector<client::BatchEncryptItem> items(kMaxBatchItems + 1, {p, kContext});
  auto sealed = client_->BatchEncrypt("dev", items);
  ExpectError(sealed.status(), StatusCode::kResourceExhausted, "BatchEncrypt");
  // Counted on the wire before parsing, which stops at the first item over the limit.
  EXPECT_TRUE(Contains(sealed.status().message(), "batch has more than " + std::to_string(kMaxBatchItems) + " items"))
      << sealed.status().message();
  EXPECT_TRUE(Contains(sealed.status().message(), "server.max_batch_items"));

  items.pop_back();  // exactly at the limit
  auto ok = client_->BatchEncrypt("dev", items);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), kMaxBatchItems);
  std::vector<client::BatchDecryptItem> to_open;
  for (const auto& r : *ok) {
    ASSERT_TRUE(r.ok());
    to_open.push_back({*r, kContext});
  }
  auto opened = client_->BatchDecrypt(to_open);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  to_open.push_back(to_open.front());
  auto too_many = client_->BatchDecrypt(to_open);
  ExpectError(too_many.status(), StatusCode::kResourceExhausted, "BatchDecrypt");
  EXPECT_TRUE(Contains(too_many.status().message(), "server.max_batch_items")) << too_many.status().message();
}

TEST_F(BadInputTest, MalformedStreamsAreInvalidArgumentSayingWhatWasWrong) {
  v1::EncryptStreamRequest start, data;
  start.mutable_start()->set_keyring("dev");
  (*start.mutable_start()->mutable_context())["tenant"] = "acme";
  data.set_data(AsString(Marked(1000)));

  Status s = FromGrpc(RawStream<v1::EncryptStreamRequest>({data, start}));
  ExpectError(s, StatusCode::kInvalidArgument, "data before start");
  EXPECT_EQ(s.message(), "the first message of a stream must be `start`");

  s = FromGrpc(RawStream<v1::EncryptStreamRequest>({start, data, start, data}));
  ExpectError(s, StatusCode::kInvalidArgument, "start twice");
  EXPECT_EQ(s.message(), "`start` sent twice in one stream");

  s = FromGrpc(RawStream<v1::EncryptStreamRequest>({}));
  ExpectError(s, StatusCode::kInvalidArgument, "no start");
  EXPECT_EQ(s.message(), "the stream ended before its `start` message");

  // An empty request (neither start nor data) is not a start either.
  s = FromGrpc(RawStream<v1::EncryptStreamRequest>({v1::EncryptStreamRequest()}));
  ExpectError(s, StatusCode::kInvalidArgument, "empty first message");

  v1::DecryptStreamRequest dstart, ddata;
  dstart.mutable_start();
  const Bytes good = Seal();
  ddata.set_data(AsString(good));
  s = FromGrpc(RawStream<v1::DecryptStreamRequest>({ddata}));
  ExpectError(s, StatusCode::kInvalidArgument, "decrypt data before start");
  EXPECT_EQ(s.message(), "the first message of a stream must be `start`");
  s = FromGrpc(RawStream<v1::DecryptStreamRequest>({dstart, dstart}));
  ExpectError(s, StatusCode::kInvalidArgument, "decrypt start twice");
  EXPECT_EQ(s.message(), "`start` sent twice in one stream");
  s = FromGrpc(RawStream<v1::DecryptStreamRequest>({}));
  ExpectError(s, StatusCode::kInvalidArgument, "decrypt no start");
  EXPECT_EQ(s.message(), "the stream ended before its `start` message");
  // A decrypt stream that ends inside the message: authentication failed.
  ddata.set_data(AsString(Bytes(good.begin(), good.end() - 1)));
  for (const auto& [k, v] : kContext) (*dstart.mutable_start()->mutable_context())[k] = v;
  s = FromGrpc(RawStream<v1::DecryptStreamRequest>({dstart, ddata}));
  ExpectAuthenticationFailed(s, "decrypt stream cut short");
}

TEST_F(BadInputTest, MalformedUnaryRequestsAreRefusedClearly) {
  grpc::ClientContext ctx1;
  v1::DecryptDataKeyRequest dk;
  dk.set_encrypted_key(AsString(PatternBytes(64, 2)));
  v1::DecryptDataKeyResponse dk_resp;
  Status s = FromGrpc(stub_->DecryptDataKey(&ctx1, dk, &dk_resp));
  ExpectAuthenticationFailed(s, "DecryptDataKey garbage");
  EXPECT_TRUE(dk_resp.data_key().empty());

  grpc::ClientContext ctx2;
  dk.clear_encrypted_key();
  s = FromGrpc(stub_->DecryptDataKey(&ctx2, dk, &dk_resp));
  ExpectAuthenticationFailed(s, "DecryptDataKey empty");

  grpc::ClientContext ctx3;
  v1::EncryptRequest enc;
  enc.set_plaintext(AsString(Marked(100)));
  v1::EncryptResponse enc_resp;
  s = FromGrpc(stub_->Encrypt(&ctx3, enc, &enc_resp));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "keyring")) << s.message();
  EXPECT_FALSE(Contains(s.message(), kMarker.substr(4, 17)));
  EXPECT_TRUE(enc_resp.ciphertext().empty());

  grpc::ClientContext ctx4;
  v1::GenerateDataKeyRequest gdk;
  v1::GenerateDataKeyResponse gdk_resp;
  s = FromGrpc(stub_->GenerateDataKey(&ctx4, gdk, &gdk_resp));
  EXPECT_TRUE(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "keyring")) << s.message();
  EXPECT_TRUE(gdk_resp.data_key().empty());

  grpc::ClientContext ctx5;
  v1::ReEncryptRequest re;
  const Bytes good = Seal();
  re.set_ciphertext(AsString(good));
  for (const auto& [k, v] : kContext) (*re.mutable_context())[k] = v;
  v1::ReEncryptResponse re_resp;
  s = FromGrpc(stub_->ReEncrypt(&ctx5, re, &re_resp));
  EXPECT_TRUE(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "keyring")) << s.message();
}

TEST_F(BadInputTest, FailuresAreLoggedWithMethodAndCodeButNeverThePlaintext) {
  const Bytes good = Seal();
  Bytes flipped = good;
  flipped.back() ^= 1;
  ASSERT_FALSE(client_->Decrypt(flipped, kContext).ok());
  ASSERT_FALSE(client_->Encrypt("dev", kContext, Marked(kMaxMessageBytes + 1)).ok());
  ASSERT_FALSE(client_->Encrypt("no-such-ring", kContext, Marked(10)).ok());
  v1::EncryptStreamRequest data;
  data.set_data(AsString(Marked(500)));
  ASSERT_FALSE(RawStream<v1::EncryptStreamRequest>({data}).ok());

  struct Expected {
    std::string method, code;
  };
  for (const Expected& e : std::vector<Expected>{{"Decrypt", "INVALID_ARGUMENT"},
                                                  {"Encrypt", "RESOURCE_EXHAUSTED"},
                                                  {"Encrypt", "NOT_FOUND"},
                                                  {"EncryptStream", "INVALID_ARGUMENT"}}) {
    // The line is written before the status goes out; waiting only covers
    // a slow file system.
    const bool found = WaitFor(
        [&] {
          for (const auto& line : FailureLines(sesd_->Log(), e.method)) {
            if (Contains(line, "code=" + e.code)) return true;
          }
          return false;
        },
        std::chrono::seconds(10));
    EXPECT_TRUE(found) << "no 'call failed' line for " << e.method << " " << e.code << " in:\n" << sesd_->Log();
  }
  bool named = false;
  for (const auto& line : FailureLines(sesd_->Log(), "Encrypt")) {
    named = named || (Contains(line, "code=NOT_FOUND") && Contains(line, "keyring=no-such-ring"));
  }
  EXPECT_TRUE(named) << "the unknown keyring's failure line does not name it";
}

}  // namespace
}  // namespace ses::testing
