// Uses the SHA256_* block API (deprecated in OpenSSL 3 in favour of EVP)
// because it is the only OpenSSL interface that lets a keyed HMAC state be
// copied without a heap allocation: about 5 us per message through EVP_KDF
// against a fraction of a microsecond here (docs/performance.md). The price:
// this bypasses OpenSSL providers, so a [cipher] properties = fips=yes setting
// does not cover the KDF. Routing it through the cipher plugin's library
// context is the planned fix (docs/format.md, security notes).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/hkdf.h"

#include <cassert>
#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace ses::internal {

struct HkdfPrk::State {
  SHA256_CTX inner;  // after absorbing PRK ^ ipad
  SHA256_CTX outer;  // after absorbing PRK ^ opad
};


HkdfPrk::State& HkdfPrk::state() {
  static_assert(sizeof(State) <= sizeof(state_), "state buffer too small");
  return *reinterpret_cast<State*>(state_); }
const HkdfPrk::State& HkdfPrk::state() const { return *reinterpret_cast<const State*>(state_); }

namespace {

constexpr size_t kBlock = 64;

// Keys `inner`/`outer` with an HMAC-SHA256 key of at most 64 bytes.
void KeyHmac(ByteView key, SHA256_CTX& inner, SHA256_CTX& outer) {
  assert(key.size() <= kBlock);
  uint8_t pad[kBlock];
  std::memset(pad, 0x36, kBlock);
  for (size_t i = 0; i < key.size(); ++i) pad[i] ^= key[i];
  SHA256_Init(&inner);
  SHA256_Update(&inner, pad, kBlock);
  std::memset(pad, 0x5c, kBlock);
  for (size_t i = 0; i < key.size(); ++i) pad[i] ^= key[i];
  SHA256_Init(&outer);
  SHA256_Update(&outer, pad, kBlock);
  OPENSSL_cleanse(pad, sizeof(pad));
}

}  // namespace

HkdfPrk::HkdfPrk(ByteView salt, ByteView ikm) {
  // HKDF-Extract: PRK = HMAC(salt, ikm). Salts here are short constants.
  uint8_t salt_hash[SHA256_DIGEST_LENGTH];
  ByteView salt_key = salt;
  if (salt.size() > kBlock) {
    SHA256(salt.data(), salt.size(), salt_hash);
    salt_key = ByteView(salt_hash, sizeof(salt_hash));
  }
  SHA256_CTX in, out;
  KeyHmac(salt_key, in, out);
  uint8_t prk[SHA256_DIGEST_LENGTH];
  SHA256_Update(&in, ikm.data(), ikm.size());
  SHA256_Final(prk, &in);
  SHA256_Update(&out, prk, sizeof(prk));
  SHA256_Final(prk, &out);
  KeyHmac(ByteView(prk, sizeof(prk)), state().inner, state().outer);
  OPENSSL_cleanse(prk, sizeof(prk));
  OPENSSL_cleanse(&in, sizeof(in));
  OPENSSL_cleanse(&out, sizeof(out));
}

HkdfPrk::~HkdfPrk() { OPENSSL_cleanse(state_, sizeof(state_)); }

void HkdfPrk::Expand(std::initializer_list<ByteView> info_parts, std::span<uint8_t> out) const {
  assert(out.size() <= 255 * SHA256_DIGEST_LENGTH);
  uint8_t t[SHA256_DIGEST_LENGTH];
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    // T(i) = HMAC(PRK, T(i-1) | info | i)
    SHA256_CTX ctx = state().inner;
    if (counter > 1) SHA256_Update(&ctx, t, sizeof(t));
    for (ByteView part : info_parts) SHA256_Update(&ctx, part.data(), part.size());
    SHA256_Update(&ctx, &counter, 1);
    SHA256_Final(t, &ctx);
    ctx = state().outer;
    SHA256_Update(&ctx, t, sizeof(t));
    SHA256_Final(t, &ctx);
    OPENSSL_cleanse(&ctx, sizeof(ctx));
    size_t n = std::min(sizeof(t), out.size() - done);
    std::memcpy(out.data() + done, t, n);
    done += n;
  }
  OPENSSL_cleanse(t, sizeof(t));
}

}  // namespace ses::internal
