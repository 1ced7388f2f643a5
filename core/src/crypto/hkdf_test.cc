#include "crypto/hkdf.h"

#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace ses::internal {
namespace {

std::vector<uint8_t> Hex(const std::string& s) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(HexDecode(s, out));
  return out;
}

// RFC 5869 appendix A, test case 1 (SHA-256).
TEST(HkdfTest, MatchesRfc5869TestCase1) {
  auto ikm = Hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto salt = Hex("000102030405060708090a0b0c");
  auto info = Hex("f0f1f2f3f4f5f6f7f8f9");
  HkdfPrk prk(salt, ikm);
  std::vector<uint8_t> okm(42);
  prk.Expand({info}, okm);
  EXPECT_EQ(HexEncode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 appendix A, test case 2: long inputs, 82 bytes of output (3 blocks).
TEST(HkdfTest, MatchesRfc5869TestCase2) {
  std::vector<uint8_t> ikm(80), salt(80), info(80);
  for (int i = 0; i < 80; ++i) {
    ikm[i] = static_cast<uint8_t>(i);
    salt[i] = static_cast<uint8_t>(0x60 + i);
    info[i] = static_cast<uint8_t>(0xb0 + i);
  }
  HkdfPrk prk(salt, ikm);
  std::vector<uint8_t> okm(82);
  prk.Expand({info}, okm);
  EXPECT_EQ(HexEncode(okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da32"
            "75600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// Info given in parts hashes the same as info given whole, and the result
// matches OpenSSL's own HKDF.
TEST(HkdfTest, InfoPartsMatchOpenSslHkdf) {
  auto ikm = Hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  std::string salt = "SES-v1 data key";
  std::string label = "SES-v1 message key";
  std::vector<uint8_t> id(32, 0x42);
  HkdfPrk prk(AsBytes(salt), ikm);
  std::vector<uint8_t> ours(96);
  prk.Expand({AsBytes(label), id}, ours);

  std::vector<uint8_t> info(label.begin(), label.end());
  info.insert(info.end(), id.begin(), id.end());
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm.data(), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  std::vector<uint8_t> theirs(96);
  ASSERT_EQ(EVP_KDF_derive(ctx, theirs.data(), theirs.size(), params), 1);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  EXPECT_EQ(ours, theirs);
}

}  // namespace
}  // namespace ses::internal

namespace ses::internal {
namespace {

// The per-message shortcut (one pre-padded block) equals plain HMAC for
// every message length it accepts.
TEST(HmacTest, PaddedBlockShortcutMatchesPlainHmac) {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(7 * i + 1);
  HmacSha256 mac(key);
  for (size_t n = 0; n <= 55; ++n) {
    std::vector<uint8_t> msg(n);
    for (size_t i = 0; i < n; ++i) msg[i] = static_cast<uint8_t>(n * 31 + i);
    uint8_t block[64], fast[32], plain[32];
    HmacSha256::PadOneBlock(msg, block);
    mac.MacPaddedBlock(block, fast);
    HmacSha256::Run run = mac.Begin();
    run.Update(msg);
    run.Final(plain);
    EXPECT_EQ(HexEncode(ByteView(fast, 32)), HexEncode(ByteView(plain, 32))) << n;
  }
}

// RFC 4231 test case 2 ("Jefe"), HMAC-SHA-256.
TEST(HmacTest, MatchesRfc4231TestCase2) {
  std::string key = "Jefe", msg = "what do ya want for nothing?";
  HmacSha256 mac(AsBytes(key));
  uint8_t out[32];
  HmacSha256::Run run = mac.Begin();
  run.Update(AsBytes(msg));
  run.Final(out);
  EXPECT_EQ(HexEncode(ByteView(out, 32)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  uint8_t block[64], fast[32];
  HmacSha256::PadOneBlock(AsBytes(msg), block);
  mac.MacPaddedBlock(block, fast);
  EXPECT_EQ(HexEncode(ByteView(fast, 32)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace ses::internal
