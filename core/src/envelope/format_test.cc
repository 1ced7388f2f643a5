#include "envelope/format.h"

#include <gtest/gtest.h>

namespace ses::internal {
namespace {

HeaderInfo Sample() {
  HeaderInfo h;
  h.suite_id = kSuiteChaCha20Poly1305;
  h.mode = KeyringMode::kAll;
  h.message_id.fill(0xab);
  h.frame_size = 4096;
  h.context = {{"b", "2"}, {"a", "1"}};
  h.keys = {{"keyfile", "keyfile://a.key", "3", {1, 2, 3}}, {"keyfile", "keyfile://b.key", "1", {4, 5}}};
  h.commitment.fill(0xcd);
  return h;
}

std::vector<uint8_t> Encode(const HeaderInfo& h) {
  auto out = EncodeHeaderBody(h);
  out.resize(out.size() + kHeaderTagSize, 0xee);
  return out;
}

TEST(FormatTest, HeaderRoundTrips) {
  auto bytes = Encode(Sample());
  auto h = DecodeHeader(bytes);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->suite_id, kSuiteChaCha20Poly1305);
  EXPECT_EQ(h->mode, KeyringMode::kAll);
  EXPECT_EQ(h->frame_size, 4096u);
  EXPECT_EQ(h->context, Sample().context);
  ASSERT_EQ(h->keys.size(), 2u);
  EXPECT_EQ(h->keys[0].key_uri, "keyfile://a.key");
  EXPECT_EQ(h->keys[0].key_version, "3");
  EXPECT_EQ(h->keys[1].wrapped, (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(h->tag, std::vector<uint8_t>(kHeaderTagSize, 0xee));
  EXPECT_EQ(DecodeHeaderSize(bytes).value(), bytes.size());
}

TEST(FormatTest, ContextIsEncodedInKeyOrder) {
  auto enc = EncodeContext({{"zeta", ""}, {"alpha", "x"}});
  std::vector<uint8_t> want = {0, 2, 0, 5, 'a', 'l', 'p', 'h', 'a', 0, 1, 'x', 0, 4, 'z', 'e', 't', 'a', 0, 0};
  EXPECT_EQ(enc, want);
}

TEST(FormatTest, EveryTruncatedHeaderIsRejected) {
  auto bytes = Encode(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto h = DecodeHeader(std::span<const uint8_t>(bytes).first(n));
    EXPECT_FALSE(h.ok()) << n;
  }
}

TEST(FormatTest, LengthsBeyondTheCapsAreRejected) {
  // A header claiming more than the cap is refused from its prefix alone.
  std::vector<uint8_t> prefix = {'S', 'E', 'S', 1, 0, 0x10, 0, 0};  // 1 MiB
  EXPECT_FALSE(DecodeHeaderSize(prefix).ok());
  prefix = {'S', 'E', 'S', 2, 0, 0, 1, 0};  // unknown version
  EXPECT_FALSE(DecodeHeaderSize(prefix).ok());

  HeaderInfo h = Sample();
  h.frame_size = kMaxFrameSize + 1;
  EXPECT_FALSE(DecodeHeader(Encode(h)).ok());
  h = Sample();
  h.keys.clear();
  EXPECT_FALSE(DecodeHeader(Encode(h)).ok());
  h = Sample();
  h.keys[0].wrapped.assign(kMaxWrappedBytes + 1, 1);
  EXPECT_FALSE(DecodeHeader(Encode(h)).ok());
}

TEST(FormatTest, NonCanonicalContextIsRejected) {
  auto bytes = Encode(Sample());
  // Context entries start after prefix 8, suite 2, mode 1, id 32, frame 4, count 2:
  // swap "a"/"b" keys so they are out of order.
  size_t first_key = 8 + 2 + 1 + 32 + 4 + 2 + 2;
  ASSERT_EQ(bytes[first_key], 'a');
  bytes[first_key] = 'c';
  EXPECT_FALSE(DecodeHeader(bytes).ok());
}

TEST(FormatTest, ContextValidationCapsSizes) {
  EXPECT_TRUE(ValidateContext({{"k", "v"}}).ok());
  EXPECT_FALSE(ValidateContext({{"", "v"}}).ok());
  EncryptionContext big;
  for (int i = 0; i < 300; ++i) big[std::to_string(i)] = "";
  EXPECT_FALSE(ValidateContext(big).ok());
  EXPECT_FALSE(ValidateContext({{"k", std::string(70000, 'x')}}).ok());
}

TEST(FormatTest, NonceLayout) {
  uint8_t nonce[12];
  MakeNonce(0x0102030405060708ULL, kFrameFinal, nonce);
  EXPECT_EQ(std::vector<uint8_t>(nonce, nonce + 12), (std::vector<uint8_t>{2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
  MakeNonce(1, kFrameRegular, nonce);
  EXPECT_EQ(std::vector<uint8_t>(nonce, nonce + 12), (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

}  // namespace
}  // namespace ses::internal
