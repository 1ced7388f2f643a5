#include "engine/data_key.h"

#include <gtest/gtest.h>

#include "envelope/format.h"

namespace ses::internal {
namespace {

// The message key is HKDF-Expand(PRK, label | suite | id) however it is
// computed: the one-block shortcut (32-byte keys) and the general path
// (the cascade's 64 bytes) both match plain HKDF.
TEST(DataKeyTest, MessageKeysMatchPlainHkdf) {
  std::vector<uint8_t> dk(32);
  for (size_t i = 0; i < dk.size(); ++i) dk[i] = static_cast<uint8_t>(i * 3);
  for (uint32_t key_len : {32u, 64u}) {
    SuiteInfo suite{kSuiteAesGcmChaChaCascade, "x", key_len, 16};
    DataKey key(SecretBytes(dk), KeyringMode::kAny, {}, suite);
    HkdfPrk prk(AsBytes(kDataKeySalt), dk);
    for (uint8_t seed = 0; seed < 5; ++seed) {
      std::vector<uint8_t> id(32, seed);
      std::vector<uint8_t> got(key_len), want(key_len);
      key.DeriveMessageKey(id, got);
      uint8_t suite_be[2] = {0, 3};
      prk.Expand({AsBytes(kMessageKeyLabel), ByteView(suite_be, 2), id}, want);
      EXPECT_EQ(got, want) << key_len;
    }
    std::vector<uint8_t> commitment(32);
    prk.Expand({AsBytes(kCommitmentLabel)}, commitment);
    EXPECT_TRUE(std::equal(commitment.begin(), commitment.end(), key.commitment().begin()));
  }
}

}  // namespace
}  // namespace ses::internal
