#include "engine/message.h"

#include <cstring>

#include <openssl/crypto.h>

namespace ses::internal {

MessageKey::~MessageKey() { OPENSSL_cleanse(bytes, len); }

void ComputeHeaderTag(const HmacSha256& mac, ByteView body, std::span<uint8_t, kHeaderTagSize> tag) {
  HmacSha256::Run run = mac.Begin();
  run.Update(body.first(kMessageIdOffset));
  run.Update(body.subspan(kMessageIdOffset + kMessageIdSize));
  run.Final(tag);
}

size_t SealedFrameSize(uint8_t type, size_t length, size_t tag_len) {
  return 1 + (type == kFrameFinal ? 4 : 0) + length + tag_len;
}

Status SealFrame(AeadContext& aead, uint64_t seq, uint8_t type, ByteView plaintext, std::span<uint8_t> out) {
  const auto length = static_cast<uint32_t>(plaintext.size());
  size_t pos = 0;
  out[pos++] = type;
  if (type == kFrameFinal) {
    StoreU32(out.data() + pos, length);
    pos += 4;
  }
  AeadNonce nonce;
  MakeNonce(seq, type, nonce.data());
  return aead.Seal(nonce, {}, plaintext, out.subspan(pos));
}

FrameParse ParseFrame(ByteView in, uint32_t frame_size, size_t tag_len, FrameRef& out) {
  if (in.empty()) return FrameParse::kNeedMore;
  out.type = in[0];
  size_t pos = 1;
  if (out.type == kFrameRegular) {
    out.length = frame_size;
  } else if (out.type == kFrameFinal) {
    if (in.size() < 5) return FrameParse::kNeedMore;
    out.length = LoadU32(in.data() + 1);
    if (out.length > frame_size) return FrameParse::kInvalid;
    pos = 5;
  } else {
    return FrameParse::kInvalid;
  }
  size_t sealed_len = size_t{out.length} + tag_len;
  if (in.size() - pos < sealed_len) return FrameParse::kNeedMore;
  out.sealed = in.subspan(pos, sealed_len);
  out.consumed = pos + sealed_len;
  return FrameParse::kFrame;
}

Status OpenFrame(AeadContext& aead, uint64_t seq, const FrameRef& frame, std::span<uint8_t> out) {
  AeadNonce nonce;
  MakeNonce(seq, frame.type, nonce.data());
  if (!aead.Open(nonce, {}, frame.sealed, out).ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    return AuthenticationFailedError();
  }
  return OkStatus();
}

}  // namespace ses::internal
