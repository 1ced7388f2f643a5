// Envelope format v1: constants, limits and the header codec.
//
// The decoder treats its input as hostile: every length is checked against
// the bytes present and against the caps below before anything is allocated.
// It checks structure only; authenticity is the engine's job (commitment and
// header tag), so a decoded header is not yet trusted.
//
// Thread safety: free functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ses/envelope.h"
#include "ses/status.h"
#include "util/bytes.h"

namespace ses::internal {

inline constexpr uint8_t kMagic[3] = {'S', 'E', 'S'};
inline constexpr uint8_t kFormatVersion = 1;
inline constexpr size_t kPrefixSize = 8;  // magic, version, header length
inline constexpr size_t kMessageIdSize = 32;
inline constexpr size_t kCommitmentSize = 32;
inline constexpr size_t kDataKeySize = 32;
inline constexpr size_t kHeaderTagSize = 32;  // HMAC-SHA256
// The message id's place: after magic 3, version 1, length 4, suite 2, mode 1.
inline constexpr size_t kMessageIdOffset = 11;

// Caps on what a header may claim (docs/format.md).
inline constexpr size_t kMaxHeaderSize = 256 * 1024;
inline constexpr size_t kMaxContextEntries = 256;
inline constexpr size_t kMaxContextBytes = 64 * 1024;
inline constexpr size_t kMaxWrappedKeys = 16;
inline constexpr size_t kMaxProviderName = 64;
inline constexpr size_t kMaxKeyUri = 2048;
inline constexpr size_t kMaxKeyVersion = 255;
inline constexpr size_t kMaxWrappedBytes = 8192;
inline constexpr uint32_t kMinFrameSize = 16;
inline constexpr uint32_t kMaxFrameSize = 4 * 1024 * 1024;
inline constexpr uint32_t kDefaultFrameSize = 64 * 1024;
// Frame sequence numbers run from 1 to kMaxFrames (they fit 32 bits).
inline constexpr uint64_t kMaxFrames = 0xffffffff;

// Frame types on the wire.
inline constexpr uint8_t kFrameRegular = 1;
inline constexpr uint8_t kFrameFinal = 2;

// Validates a context for encryption (non-empty keys, sizes within caps).
Status ValidateContext(const EncryptionContext& context);

// Canonical bytes of a context: u16 count, then (u16 len, key, u16 len, value)
// in key order. Also what providers receive as AAD.
std::vector<uint8_t> EncodeContext(const EncryptionContext& context);

// Serialises every header field before the tag, with the header length field
// counting the tag too.
std::vector<uint8_t> EncodeHeaderBody(const HeaderInfo& header);

// Reads the 8-byte prefix; returns the total header size it claims.
// Fails (authentication failed) on a wrong magic, version or size.
StatusOr<size_t> DecodeHeaderSize(ByteView prefix);

// Decodes a whole header (exactly DecodeHeaderSize bytes); the tag is its
// last kHeaderTagSize bytes.
StatusOr<HeaderInfo> DecodeHeader(ByteView header);

// Nonce of frame `seq` (from 1) of `type`: the type byte, three zero bytes,
// then seq big-endian. The AEAD authenticates the nonce and the ciphertext
// length, so a frame moved, relabelled or cut short fails its tag; frames
// carry no AAD.
void MakeNonce(uint64_t seq, uint8_t type, uint8_t nonce[12]);

}  // namespace ses::internal
