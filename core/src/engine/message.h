// Per-message cryptography of envelope v1: key derivation, the header tag,
// and sealing, parsing and opening body frames. Shared by the one-shot and
// streaming paths so both produce and accept exactly the same bytes.
//
// Thread safety: free functions; the AeadContext passed in is the caller's.
#pragma once

#include <cstdint>
#include <span>

#include "engine/data_key.h"
#include "envelope/format.h"
#include "ses/cipher.h"
#include "ses/status.h"

namespace ses::internal {

// HKDF info label for message secrets (docs/format.md).
inline constexpr char kMessageKeyLabel[] = "SES-v1 message key";
inline constexpr size_t kMaxSuiteKeySize = 64;

// Message secrets for one message: the suite key, then the commitment.
// Wiped on destruction.
struct MessageSecrets {
  uint8_t bytes[kMaxSuiteKeySize + kCommitmentSize];
  size_t key_len = 0;
  std::span<const uint8_t> key() const { return {bytes, key_len}; }
  std::span<const uint8_t> commitment() const { return {bytes + key_len, kCommitmentSize}; }
  ~MessageSecrets();
};

// REQUIRES: suite.key_len <= kMaxSuiteKeySize.
void DeriveMessageSecrets(const DataKey& key, const SuiteInfo& suite, ByteView message_id, MessageSecrets& out);

// Header tag: the suite's AEAD over an empty plaintext with nonce 0 and the
// header body as AAD. `tag` has the suite's tag length.
Status SealHeaderTag(AeadContext& aead, ByteView header_body, std::span<uint8_t> tag);
Status VerifyHeaderTag(AeadContext& aead, ByteView header_body, ByteView tag);

// Bytes a frame of `length` plaintext bytes takes on the wire.
size_t SealedFrameSize(uint8_t type, size_t length, size_t tag_len);
// Writes one frame (type, [length], ciphertext, tag) into `out`, which must
// be exactly SealedFrameSize bytes.
Status SealFrame(AeadContext& aead, uint64_t seq, uint8_t type, ByteView plaintext, std::span<uint8_t> out);

struct FrameRef {
  uint8_t type = 0;
  uint32_t length = 0;  // plaintext bytes
  ByteView sealed;      // ciphertext then tag
  size_t consumed = 0;  // wire bytes of the whole frame
};
enum class FrameParse { kNeedMore, kFrame, kInvalid };
// Parses the frame at the start of `in` without decrypting it.
FrameParse ParseFrame(ByteView in, uint32_t frame_size, size_t tag_len, FrameRef& out);
// Opens a parsed frame into `out` (room for frame.sealed.size() bytes).
// Fails with "authentication failed" and wipes `out` on any mismatch.
Status OpenFrame(AeadContext& aead, uint64_t seq, const FrameRef& frame, std::span<uint8_t> out);

}  // namespace ses::internal
