// Tampering: every single-byte flip, every truncation, reordered or spliced
// frames and trailing bytes must fail, and release no plaintext.
#include <gtest/gtest.h>

#include <set>

#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

constexpr uint32_t kFrame = 64;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    engine_ = env_.MakeEngine({TestEnv::Keyring("small", {"keyfile://a.key"}, KeyringMode::kAny, kSuiteAes256Gcm, kFrame)});
    plain_ = PatternBytes(3 * kFrame + 8);  // three regular frames and a final one
    auto sealed = engine_->Encrypt("small", ctx_, plain_);
    ASSERT_TRUE(sealed.ok());
    sealed_ = *sealed;
    auto h = Engine::Inspect(sealed_);
    ASSERT_TRUE(h.ok());
    header_ = *h;
  }

  // Byte positions that name the master key (provider, URI, version and their
  // lengths). A flip there points the engine at a key it does not have, which
  // it may say plainly; everywhere else the answer is "authentication failed".
  std::set<size_t> KeyIdentityPositions() const {
    size_t pos = 8 + 2 + 1 + 32 + 4 + 2;
    for (const auto& [k, v] : header_.context) pos += 4 + k.size() + v.size();
    pos += 1;  // key count
    std::set<size_t> out;
    for (const auto& k : header_.keys) {
      for (size_t i = 0; i < 1 + k.provider.size(); ++i) out.insert(pos++);
      for (size_t i = 0; i < 2 + k.key_uri.size(); ++i) out.insert(pos++);
      for (size_t i = 0; i < 1 + k.key_version.size(); ++i) out.insert(pos++);
      pos += 2 + k.wrapped.size();
    }
    return out;
  }

  // Decrypts through the stream path; returns the status and what the sink got.
  Status StreamDecrypt(std::span<const uint8_t> ct, std::vector<uint8_t>& released) {
    auto dec = engine_->NewDecryptStream(ctx_, [&](std::span<const uint8_t> b) {
      released.insert(released.end(), b.begin(), b.end());
      return OkStatus();
    });
    if (!dec.ok()) return dec.status();
    Status s = (*dec)->Write(ct);
    return s.ok() ? (*dec)->Finish() : s;
  }

  const EncryptionContext ctx_{{"tenant", "t1"}};
  TestEnv env_;
  std::unique_ptr<Engine> engine_;
  std::vector<uint8_t> plain_, sealed_;
  HeaderInfo header_;
};

TEST_F(TamperTest, UntouchedMessageDecrypts) {
  auto opened = engine_->Decrypt(sealed_, ctx_);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain_);
}

TEST_F(TamperTest, EverySingleByteFlipFailsWithoutOutput) {
  const std::set<size_t> identity = KeyIdentityPositions();
  for (size_t i = 0; i < sealed_.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = sealed_;
      bad[i] ^= mask;
      auto r = engine_->Decrypt(bad, ctx_);
      ASSERT_FALSE(r.ok()) << "flip at " << i << " was accepted";
      if (identity.count(i) == 0) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "at " << i;
        EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage) << "at " << i;
      } else {
        EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument ||
                    r.status().code() == StatusCode::kNotFound)
            << "at " << i << ": " << r.status().ToString();
      }
    }
  }
}

TEST_F(TamperTest, FlippedHeaderReleasesNothingThroughTheStream) {
  for (size_t i = 0; i < header_.header_size; ++i) {
    auto bad = sealed_;
    bad[i] ^= 0x01;
    std::vector<uint8_t> released;
    EXPECT_FALSE(StreamDecrypt(bad, released).ok()) << "at " << i;
    EXPECT_TRUE(released.empty()) << "at " << i;
  }
}

TEST_F(TamperTest, EveryTruncationFails) {
  for (size_t n = 0; n < sealed_.size(); ++n) {
    auto r = engine_->Decrypt(std::span<const uint8_t>(sealed_).first(n), ctx_);
    ASSERT_FALSE(r.ok()) << "truncated to " << n;
    EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage);
  }
}

TEST_F(TamperTest, TruncationAtEveryFrameBoundaryFailsTheStream) {
  const size_t frame_wire = 1 + kFrame + 16;
  for (size_t frames = 0; frames <= 3; ++frames) {
    size_t n = header_.header_size + frames * frame_wire;
    std::vector<uint8_t> released;
    Status s = StreamDecrypt(std::span<const uint8_t>(sealed_).first(n), released);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << frames << " frames";
    EXPECT_EQ(s.message(), kAuthenticationFailedMessage);
    // Only whole verified frames may have been released, never more.
    EXPECT_EQ(released.size(), frames * kFrame);
  }
}

TEST_F(TamperTest, TrailingBytesFail) {
  auto bad = sealed_;
  bad.push_back(0);
  EXPECT_EQ(engine_->Decrypt(bad, ctx_).status().message(), kAuthenticationFailedMessage);
  std::vector<uint8_t> released;
  EXPECT_FALSE(StreamDecrypt(bad, released).ok());
}

TEST_F(TamperTest, SwappedFramesFail) {
  const size_t frame_wire = 1 + kFrame + 16;
  auto bad = sealed_;
  std::swap_ranges(bad.begin() + static_cast<ptrdiff_t>(header_.header_size),
                   bad.begin() + static_cast<ptrdiff_t>(header_.header_size + frame_wire),
                   bad.begin() + static_cast<ptrdiff_t>(header_.header_size + frame_wire));
  EXPECT_EQ(engine_->Decrypt(bad, ctx_).status().message(), kAuthenticationFailedMessage);
}

// Two messages under the same cached data key still have different message
// keys: a frame moved from one to the other does not open.
TEST_F(TamperTest, FrameSplicedFromAnotherMessageFails) {
  auto other = engine_->Encrypt("small", ctx_, plain_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Engine::Inspect(*other)->keys[0].wrapped, header_.keys[0].wrapped);  // same data key
  auto bad = sealed_;
  std::copy(other->begin() + static_cast<ptrdiff_t>(header_.header_size), other->end(),
            bad.begin() + static_cast<ptrdiff_t>(header_.header_size));
  EXPECT_EQ(engine_->Decrypt(bad, ctx_).status().message(), kAuthenticationFailedMessage);
}

// Dropping the final frame and marking the previous one final changes its
// AAD, so the tag no longer verifies.
TEST_F(TamperTest, RegularFrameRelabelledFinalFails) {
  const size_t frame_wire = 1 + kFrame + 16;
  std::vector<uint8_t> bad(sealed_.begin(), sealed_.begin() + static_cast<ptrdiff_t>(header_.header_size + frame_wire));
  bad[header_.header_size] = 2;
  EXPECT_FALSE(engine_->Decrypt(bad, ctx_).ok());
}

TEST_F(TamperTest, GarbageIsNotAMessage) {
  for (size_t n : {0, 1, 7, 8, 100, 5000}) {
    auto r = engine_->Decrypt(PatternBytes(n, 99), ctx_);
    EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage) << n;
  }
}

}  // namespace
}  // namespace ses
