#include "engine/data_key.h"

#include <time.h>

#include <cassert>
#include <cstring>

#include <openssl/crypto.h>

namespace ses::internal {
namespace {

// Expands one 32-byte value under `prk` for `label`, into a temporary that
// is wiped when the full expression using it ends.
struct Derived {
  uint8_t bytes[32];
  Derived(const HkdfPrk& prk, std::string_view label) { prk.Expand({AsBytes(label)}, bytes); }
  ~Derived() { OPENSSL_cleanse(bytes, sizeof(bytes)); }
  ByteView view() const { return {bytes, sizeof(bytes)}; }
};

}  // namespace

std::chrono::steady_clock::time_point CoarseNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

DataKey::DataKey(SecretBytes key, KeyringMode mode, std::vector<WrappedDataKey> wrapped, const SuiteInfo& suite)
    : data_key_(std::move(key)),
      prk_(AsBytes(kDataKeySalt), data_key_.span()),
      mode_(mode),
      wrapped_(std::move(wrapped)),
      suite_(suite),
      header_mac_(Derived(prk_, kHeaderKeyLabel).view()),
      created_(CoarseNow()) {
  prk_.Expand({AsBytes(kCommitmentLabel)}, commitment_);
  uint8_t message_info[kMessageKeyLabel.size() + 2 + 32 + 1] = {};
  std::memcpy(message_info, kMessageKeyLabel.data(), kMessageKeyLabel.size());
  message_info[kMessageKeyLabel.size()] = static_cast<uint8_t>(suite.id >> 8);
  message_info[kMessageKeyLabel.size() + 1] = static_cast<uint8_t>(suite.id);
  message_info[sizeof(message_info) - 1] = 1;  // HKDF counter of T(1)
  HmacSha256::PadOneBlock(ByteView(message_info, sizeof(message_info)), message_key_block_);
}

void DataKey::DeriveMessageKey(ByteView message_id, std::span<uint8_t> out) const {
  assert(message_id.size() == 32);
  if (out.size() > kSha256Size) {
    uint8_t suite_be[2] = {static_cast<uint8_t>(suite_.id >> 8), static_cast<uint8_t>(suite_.id)};
    prk_.Expand({AsBytes(kMessageKeyLabel), ByteView(suite_be, 2), message_id}, out);
    return;
  }
  // One HKDF block, T(1) = HMAC(PRK, info | 0x01), whose input fits one
  // padded SHA-256 block: only the id changes between messages.
  uint8_t block[64];
  std::memcpy(block, message_key_block_, sizeof(block));
  std::memcpy(block + kMessageKeyLabel.size() + 2, message_id.data(), message_id.size());
  if (out.size() == kSha256Size) {
    prk_.hmac().MacPaddedBlock(block, std::span<uint8_t, kSha256Size>(out.data(), kSha256Size));
    return;
  }
  uint8_t t[kSha256Size];
  prk_.hmac().MacPaddedBlock(block, t);
  std::memcpy(out.data(), t, out.size());
  OPENSSL_cleanse(t, sizeof(t));
}

}  // namespace ses::internal
