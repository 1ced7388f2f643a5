// Round trips through the real engine and plugins: every suite, sizes around
// frame boundaries, one-shot and streaming paths interchangeably.
#include <gtest/gtest.h>

#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

constexpr uint32_t kSmallFrame = 64;

class RoundTripTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    engine_ = env_.MakeEngine({TestEnv::Keyring("default", {"keyfile://a.key"}, KeyringMode::kAny, GetParam()),
                               TestEnv::Keyring("small", {"keyfile://a.key"}, KeyringMode::kAny, GetParam(),
                                                kSmallFrame)});
  }

  void ExpectRoundTrip(const std::string& keyring, size_t size) {
    SCOPED_TRACE("keyring " + keyring + ", size " + std::to_string(size));
    const EncryptionContext ctx{{"tenant", "t1"}, {"purpose", "test"}};
    auto plain = PatternBytes(size, static_cast<uint32_t>(size));
    auto sealed = engine_->Encrypt(keyring, ctx, plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_GT(sealed->size(), plain.size());
    auto opened = engine_->Decrypt(*sealed, ctx);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }

  TestEnv env_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(RoundTripTest, SmallSizesRoundTrip) {
  for (size_t n : {0, 1, 2, 15, 16, 17, 1024}) ExpectRoundTrip("default", n);
}

TEST_P(RoundTripTest, SizesAroundTheFrameSizeRoundTrip) {
  for (size_t n : {kSmallFrame - 1, kSmallFrame, kSmallFrame + 1, 2 * kSmallFrame - 1, 2 * kSmallFrame,
                   2 * kSmallFrame + 1, 10 * kSmallFrame}) {
    ExpectRoundTrip("small", n);
  }
  const size_t fs = 64 * 1024;
  for (size_t n : {fs - 1, fs, fs + 1}) ExpectRoundTrip("default", n);
}

TEST_P(RoundTripTest, TenMebibytesRoundTrip) { ExpectRoundTrip("default", 10 * 1024 * 1024); }

TEST_P(RoundTripTest, EachMessageHasItsOwnIdAndCiphertext) {
  auto plain = PatternBytes(100);
  auto a = engine_->Encrypt("default", {}, plain);
  auto b = engine_->Encrypt("default", {}, plain);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  auto ha = Engine::Inspect(*a), hb = Engine::Inspect(*b);
  ASSERT_TRUE(ha.ok() && hb.ok());
  EXPECT_NE(ha->message_id, hb->message_id);
  EXPECT_EQ(ha->suite_id, GetParam());
}

// Streams write in awkward chunk sizes; both paths must give the same bytes.
TEST_P(RoundTripTest, StreamAndOneShotAreInterchangeable) {
  const EncryptionContext ctx{{"k", "v"}};
  for (size_t size : {size_t{0}, size_t{1}, size_t{kSmallFrame}, size_t{1000}}) {
    SCOPED_TRACE(size);
    auto plain = PatternBytes(size, 7);
    std::vector<uint8_t> sealed;
    auto enc = engine_->NewEncryptStream("small", ctx, [&](std::span<const uint8_t> b) {
      sealed.insert(sealed.end(), b.begin(), b.end());
      return OkStatus();
    });
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    for (size_t pos = 0; pos < plain.size(); pos += 7) {
      ASSERT_TRUE((*enc)->Write(std::span<const uint8_t>(plain).subspan(pos, std::min<size_t>(7, plain.size() - pos))).ok());
    }
    ASSERT_TRUE((*enc)->Finish().ok());

    auto opened = engine_->Decrypt(sealed, ctx);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);

    auto one_shot = engine_->Encrypt("small", ctx, plain);
    ASSERT_TRUE(one_shot.ok());
    std::vector<uint8_t> streamed;
    auto dec = engine_->NewDecryptStream(ctx, [&](std::span<const uint8_t> b) {
      streamed.insert(streamed.end(), b.begin(), b.end());
      return OkStatus();
    });
    ASSERT_TRUE(dec.ok());
    for (size_t pos = 0; pos < one_shot->size(); pos += 5) {
      ASSERT_TRUE((*dec)->Write(std::span<const uint8_t>(*one_shot).subspan(pos, std::min<size_t>(5, one_shot->size() - pos))).ok());
    }
    ASSERT_TRUE((*dec)->Finish().ok());
    EXPECT_EQ(streamed, plain);
    ASSERT_NE((*dec)->header(), nullptr);
    EXPECT_EQ((*dec)->header()->context, ctx);
    EXPECT_EQ((*dec)->header()->message_id, Engine::Inspect(*one_shot)->message_id);
  }
}

TEST_P(RoundTripTest, StreamWriteAfterFinishFails) {
  auto enc = engine_->NewEncryptStream("default", {}, [](std::span<const uint8_t>) { return OkStatus(); });
  ASSERT_TRUE(enc.ok());
  ASSERT_TRUE((*enc)->Finish().ok());
  EXPECT_EQ((*enc)->Write(PatternBytes(3)).code(), StatusCode::kFailedPrecondition);
}

TEST_P(RoundTripTest, SinkErrorStopsTheStream) {
  auto enc = engine_->NewEncryptStream("small", {}, [n = 0](std::span<const uint8_t>) mutable {
    return ++n > 2 ? UnavailableError("disk full") : OkStatus();
  });
  ASSERT_TRUE(enc.ok());
  Status s = (*enc)->Write(PatternBytes(10 * kSmallFrame));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ((*enc)->Finish().code(), StatusCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(AllSuites, RoundTripTest,
                         ::testing::Values(kSuiteAes256Gcm, kSuiteChaCha20Poly1305, kSuiteAesGcmChaChaCascade),
                         [](const auto& param_info) {
                           std::string n(SuiteName(param_info.param));
                           for (auto& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace ses
