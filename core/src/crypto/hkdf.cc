// Uses the SHA256_* block API (deprecated in OpenSSL 3 in favour of EVP)
// because it is the only OpenSSL interface that lets a keyed HMAC state be
// copied without a heap allocation: a fraction of a microsecond per message
// here against about 1.2 us through a reused EVP_KDF context
// (docs/performance.md). The price: this bypasses OpenSSL providers, so a
// [cipher] properties = fips=yes setting does not cover the KDF. Routing it
// through the cipher plugin's library context is the planned fix
// (docs/format.md, security notes).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto/hkdf.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace ses::internal {
namespace {

constexpr size_t kBlock = 64;
static_assert(sizeof(SHA256_CTX) <= 112, "state buffers too small");

SHA256_CTX* Ctx(uint8_t* p) { return reinterpret_cast<SHA256_CTX*>(p); }

void StoreBe32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

void AbsorbPad(ByteView key, uint8_t pad_byte, uint8_t* state) {
  uint8_t pad[kBlock];
  std::memset(pad, pad_byte, kBlock);
  for (size_t i = 0; i < key.size(); ++i) pad[i] ^= key[i];
  SHA256_Init(Ctx(state));
  SHA256_Update(Ctx(state), pad, kBlock);
  OPENSSL_cleanse(pad, sizeof(pad));
}

}  // namespace

HmacSha256::HmacSha256(ByteView key) {
  // RFC 2104: a key longer than the block is replaced by its hash.
  uint8_t digest[kSha256Size];
  if (key.size() > kBlock) {
    SHA256(key.data(), key.size(), digest);
    key = ByteView(digest, sizeof(digest));
  }
  AbsorbPad(key, 0x36, inner_);
  AbsorbPad(key, 0x5c, outer_);
  OPENSSL_cleanse(digest, sizeof(digest));
}

HmacSha256::~HmacSha256() {
  OPENSSL_cleanse(inner_, sizeof(inner_));
  OPENSSL_cleanse(outer_, sizeof(outer_));
}

HmacSha256::Run::Run(const HmacSha256* key) : key_(key) { std::memcpy(inner_, key->inner_, sizeof(inner_)); }

HmacSha256::Run::~Run() { OPENSSL_cleanse(inner_, sizeof(inner_)); }

void HmacSha256::Run::Update(ByteView data) { SHA256_Update(Ctx(inner_), data.data(), data.size()); }

void HmacSha256::Run::Final(std::span<uint8_t, kSha256Size> out) {
  // One scratch area, so one wipe: this runs once per message.
  struct {
    alignas(16) uint8_t outer[112];
    uint8_t inner_hash[kSha256Size];
  } s;
  SHA256_Final(s.inner_hash, Ctx(inner_));
  std::memcpy(s.outer, key_->outer_, sizeof(s.outer));
  SHA256_Update(Ctx(s.outer), s.inner_hash, sizeof(s.inner_hash));
  SHA256_Final(out.data(), Ctx(s.outer));
  OPENSSL_cleanse(&s, sizeof(s));
}

void HmacSha256::PadOneBlock(ByteView message, uint8_t block[64]) {
  assert(message.size() <= 55);
  std::memset(block, 0, 64);
  std::memcpy(block, message.data(), message.size());
  block[message.size()] = 0x80;
  const uint64_t bits = (kBlock + message.size()) * 8;  // the key block counts
  for (int i = 0; i < 8; ++i) block[56 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
}

void HmacSha256::MacPaddedBlock(const uint8_t block[64], std::span<uint8_t, kSha256Size> out) const {
  struct {
    SHA256_CTX ctx;
    uint8_t outer_block[64];
  } s;
  // Inner hash: the ipad state, one more block.
  std::memcpy(&s.ctx, inner_, sizeof(SHA256_CTX));
  SHA256_Transform(&s.ctx, block);
  // Outer hash: the opad state, then the inner digest padded to one block.
  // The padding of a 32-byte message after the 64-byte key block.
  static constexpr uint8_t kOuterPad[32] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x00};
  for (int i = 0; i < 8; ++i) StoreBe32(s.outer_block + 4 * i, s.ctx.h[i]);
  std::memcpy(s.outer_block + kSha256Size, kOuterPad, sizeof(kOuterPad));
  std::memcpy(&s.ctx, outer_, sizeof(SHA256_CTX));
  SHA256_Transform(&s.ctx, s.outer_block);
  for (int i = 0; i < 8; ++i) StoreBe32(out.data() + 4 * i, s.ctx.h[i]);
  OPENSSL_cleanse(&s, sizeof(s));
}

HkdfPrk::PrkBytes::~PrkBytes() { OPENSSL_cleanse(bytes, sizeof(bytes)); }

HkdfPrk::PrkBytes HkdfPrk::Extract(ByteView salt, ByteView ikm) {
  HmacSha256 salted(salt);
  HmacSha256::Run run = salted.Begin();
  run.Update(ikm);
  PrkBytes prk;
  run.Final(prk.bytes);
  return prk;
}

// The PRK bytes live in a temporary that is wiped at the end of this
// initialiser; only the keyed HMAC state stays.
HkdfPrk::HkdfPrk(ByteView salt, ByteView ikm) : hmac_(ByteView(Extract(salt, ikm).bytes, kSha256Size)) {}

void HkdfPrk::Expand(std::initializer_list<ByteView> info_parts, std::span<uint8_t> out) const {
  assert(out.size() <= 255 * kSha256Size);
  uint8_t t[kSha256Size];
  size_t done = 0;
  for (uint8_t counter = 1; done < out.size(); ++counter) {
    // T(i) = HMAC(PRK, T(i-1) | info | i)
    HmacSha256::Run run = hmac_.Begin();
    if (counter > 1) run.Update(ByteView(t, sizeof(t)));
    for (ByteView part : info_parts) run.Update(part);
    run.Update(ByteView(&counter, 1));
    run.Final(t);
    size_t n = std::min(sizeof(t), out.size() - done);
    std::memcpy(out.data() + done, t, n);
    done += n;
  }
  OPENSSL_cleanse(t, sizeof(t));
}

}  // namespace ses::internal
