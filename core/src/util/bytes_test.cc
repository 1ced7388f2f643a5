#include "util/bytes.h"

#include <gtest/gtest.h>

#include "ses/secret_bytes.h"

namespace ses::internal {
namespace {

TEST(ByteReaderTest, NeverReadsPastTheEnd) {
  std::vector<uint8_t> in = {1, 2, 3};
  ByteReader r(in);
  uint16_t a = 0;
  uint32_t b = 0;
  ByteView v;
  EXPECT_TRUE(r.ReadU16(a));
  EXPECT_EQ(a, 0x0102);
  EXPECT_FALSE(r.ReadU32(b));
  EXPECT_FALSE(r.ReadBytes(2, v));
  EXPECT_TRUE(r.ReadBytes(1, v));
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(HexTest, RoundTripsAndRejectsBadInput) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(HexDecode("00ff7A", out));
  EXPECT_EQ(HexEncode(out), "00ff7a");
  EXPECT_FALSE(HexDecode("abc", out));
  EXPECT_FALSE(HexDecode("zz", out));
}

TEST(SecretBytesTest, ComparesByContent) {
  std::vector<uint8_t> a = {1, 2, 3};
  SecretBytes x(a), y(a), z(std::vector<uint8_t>{1, 2, 4});
  EXPECT_TRUE(x == y);
  EXPECT_FALSE(x == z);
  SecretBytes c = x.Clone();
  EXPECT_TRUE(c == x);
  c.clear();
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace ses::internal
