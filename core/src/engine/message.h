// Per-message cryptography of envelope v1: the header tag, and sealing,
// parsing and opening body frames, and whole one-shot messages. Shared by
// the engine's one-shot and streaming paths and by LocalEnvelope, so all of
// them produce and accept exactly the same bytes.
//
// Thread safety: free functions; the AeadContext passed in is the caller's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "crypto/hkdf.h"
#include "engine/data_key.h"
#include "envelope/format.h"
#include "ses/cipher.h"
#include "ses/status.h"

namespace ses::internal {

inline constexpr size_t kMaxSuiteKeySize = 64;
inline constexpr size_t kMaxSuiteTagSize = 64;

// A message key on the stack, wiped on destruction.
struct MessageKey {
  uint8_t bytes[kMaxSuiteKeySize];
  size_t len = 0;
  std::span<uint8_t> span() { return {bytes, len}; }
  std::span<const uint8_t> view() const { return {bytes, len}; }
  ~MessageKey();  // wipes the first len bytes (all that was written)
};

// The header tag: HMAC-SHA256 under the data key's header key over the
// header body (every byte before the tag) with the message id left out, so
// it is the same for every message under one data key. The id is bound by
// the message key instead.
void ComputeHeaderTag(const HmacSha256& mac, ByteView header_body, std::span<uint8_t, kHeaderTagSize> tag);

// Authenticates a header (exactly its bytes, decoded as `h`) under `key`:
// the key commitment first, then the header tag, both compared in constant
// time. Fails with "authentication failed".
Status VerifyHeader(const DataKey& key, const HeaderInfo& h, ByteView header);
// VerifyHeader, then `key` adopts the header it vouches for: key.header
// becomes the header with a zero message id and key.info its decoded form.
// Only for a key not yet shared.
Status AdoptHeader(DataKey& key, HeaderInfo h, ByteView header);

// Whether `header` is `known` (a key's header, checked before) in every byte
// but the message id, which the header tag leaves out.
bool SameHeaderIdentity(ByteView known, ByteView header);

// Keys `aead` with the message key of `message_id` under `key`; the key
// bytes live on the stack and are wiped.
Status KeyMessage(const DataKey& key, ByteView message_id, AeadContext& aead);
// Writes the header of a message under `key` (key.header.size() bytes):
// the key's header with `message_id` in its place.
void WriteHeader(const DataKey& key, ByteView message_id, uint8_t* out);

// A whole one-shot message under `key` (docs/format.md §7.3): its header
// with `message_id`, then the frames, sealed by `aead`, which KeyMessage
// keyed for that id. On failure `out` is wiped and emptied.
Status SealMessage(const DataKey& key, ByteView message_id, AeadContext& aead, ByteView plaintext,
                   std::vector<uint8_t>& out);
// Opens the body of a one-shot message whose header (its first
// `header_size` bytes) authenticated and whose message key `aead` holds:
// every frame in order, a final frame last, nothing after it. On failure
// `out` is wiped and emptied.
Status OpenMessageBody(ByteView message, size_t header_size, uint32_t frame_size, size_t tag_len, AeadContext& aead,
                       std::vector<uint8_t>& out);

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
