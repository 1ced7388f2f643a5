// DataKey: one data key with everything derived from it that does not
// depend on a message: the HKDF PRK, the key commitment, the header MAC key,
// the message-key derivation state with its fixed prefix absorbed, and the
// header that every message under it carries (message id zeroed).
//
// Built once per data key (a provider call), shared by every message using
// it, immutable except for its usage counters. The key and the keyed states
// are wiped when the last user lets go.
//
// Thread safety: const methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "crypto/hkdf.h"
#include "ses/cipher.h"
#include "ses/envelope.h"
#include "ses/secret_bytes.h"

namespace ses::internal {

// A monotonic clock read cheaply (CLOCK_MONOTONIC_COARSE, a few
// milliseconds' resolution): age limits are in seconds and checked per message.
std::chrono::steady_clock::time_point CoarseNow();

// HKDF salt and info labels (docs/format.md), ASCII without a terminator.
inline constexpr std::string_view kDataKeySalt = "SES-v1 data key";
inline constexpr std::string_view kCommitmentLabel = "SES-v1 commitment";
inline constexpr std::string_view kHeaderKeyLabel = "SES-v1 header key";
inline constexpr std::string_view kMessageKeyLabel = "SES-v1 message key";

class DataKey {
 public:
  DataKey(SecretBytes key, KeyringMode mode, std::vector<WrappedDataKey> wrapped, const SuiteInfo& suite);

  // The suite's key for one message: HKDF-Expand(PRK, label | suite | id).
  // `out` has suite().key_len bytes.
  void DeriveMessageKey(ByteView message_id, std::span<uint8_t> out) const;

  const SecretBytes& data_key() const { return data_key_; }
  const std::array<uint8_t, 32>& commitment() const { return commitment_; }
  const HmacSha256& header_mac() const { return header_mac_; }
  const SuiteInfo& suite() const { return suite_; }
  KeyringMode mode() const { return mode_; }
  const std::vector<WrappedDataKey>& wrapped() const { return wrapped_; }
  std::chrono::steady_clock::time_point created() const { return created_; }

  // The full header of messages under this key with a zero message id:
  // filled in by whoever built the key (encrypt: the template; decrypt: the
  // verified header), with its decoded form. Set once, before sharing.
  std::vector<uint8_t> header;
  HeaderInfo info;

  // Usage under this key, for the cache's limits, and whether the cache has
  // retired it (no new message may start under a retired key).
  mutable std::atomic<uint64_t> messages{0};
  mutable std::atomic<uint64_t> bytes{0};
  mutable std::atomic<bool> retired{false};

 private:
  SecretBytes data_key_;
  HkdfPrk prk_;
  KeyringMode mode_;
  std::vector<WrappedDataKey> wrapped_;
  SuiteInfo suite_;
  std::array<uint8_t, 32> commitment_{};
  HmacSha256 header_mac_;
  // label | suite | (id) | 0x01, padded to one block; the id goes in per message.
  uint8_t message_key_block_[64];
  std::chrono::steady_clock::time_point created_;
};

}  // namespace ses::internal
