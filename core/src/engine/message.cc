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

Status VerifyHeader(const DataKey& key, const HeaderInfo& h, ByteView header) {
  // Key commitment first: a key that merely unwraps is not enough.
  if (CRYPTO_memcmp(key.commitment().data(), h.commitment.data(), kCommitmentSize) != 0) {
    return AuthenticationFailedError();
  }
  if (h.tag.size() != kHeaderTagSize || header.size() != h.header_size || header.size() < kHeaderTagSize) {
    return AuthenticationFailedError();
  }
  uint8_t tag[kHeaderTagSize];
  ComputeHeaderTag(key.header_mac(), header.first(header.size() - kHeaderTagSize), tag);
  if (CRYPTO_memcmp(tag, h.tag.data(), kHeaderTagSize) != 0) return AuthenticationFailedError();
  return OkStatus();
}

Status AdoptHeader(DataKey& key, HeaderInfo h, ByteView header) {
  SES_RETURN_IF_ERROR(VerifyHeader(key, h, header));
  key.header.assign(header.begin(), header.end());
  std::memset(key.header.data() + kMessageIdOffset, 0, kMessageIdSize);
  h.message_id.fill(0);
  key.info = std::move(h);
  return OkStatus();
}

bool SameHeaderIdentity(ByteView known, ByteView header) {
  return known.size() == header.size() && header.size() >= kMessageIdOffset + kMessageIdSize &&
         std::memcmp(known.data(), header.data(), kMessageIdOffset) == 0 &&
         std::memcmp(known.data() + kMessageIdOffset + kMessageIdSize,
                     header.data() + kMessageIdOffset + kMessageIdSize,
                     header.size() - kMessageIdOffset - kMessageIdSize) == 0;
}

Status KeyMessage(const DataKey& key, ByteView message_id, AeadContext& aead) {
  MessageKey mk;
  mk.len = key.suite().key_len;
  key.DeriveMessageKey(message_id, mk.span());
  return aead.SetKey(mk.view());
}

void WriteHeader(const DataKey& key, ByteView message_id, uint8_t* out) {
  std::memcpy(out, key.header.data(), key.header.size());
  std::memcpy(out + kMessageIdOffset, message_id.data(), kMessageIdSize);
}

Status SealMessage(const DataKey& key, ByteView message_id, AeadContext& aead, ByteView plaintext,
                   std::vector<uint8_t>& out) {
  Status s = [&]() -> Status {
    const size_t fs = key.info.frame_size;
    const size_t tag_len = key.suite().tag_len;
    // The last frame is final even when full: a regular frame promises more.
    size_t regular = plaintext.size() / fs;
    if (regular > 0 && plaintext.size() % fs == 0) --regular;
    if (regular + 1 > kMaxFrames) return InvalidArgumentError("message has too many frames for its frame size");
    const size_t final_len = plaintext.size() - regular * fs;
    const size_t regular_wire = SealedFrameSize(kFrameRegular, fs, tag_len);
    size_t pos = key.header.size();
    out.resize(pos + regular * regular_wire + SealedFrameSize(kFrameFinal, final_len, tag_len));
    WriteHeader(key, message_id, out.data());
    uint64_t seq = 1;
    for (size_t i = 0; i < regular; ++i, ++seq, pos += regular_wire) {
      SES_RETURN_IF_ERROR(SealFrame(aead, seq, kFrameRegular, plaintext.subspan(i * fs, fs),
                                    std::span<uint8_t>(out.data() + pos, regular_wire)));
    }
    return SealFrame(aead, seq, kFrameFinal, plaintext.subspan(regular * fs),
                     std::span<uint8_t>(out.data() + pos, out.size() - pos));
  }();
  if (!s.ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
  }
  return s;
}

Status OpenMessageBody(ByteView message, size_t header_size, uint32_t frame_size, size_t tag_len, AeadContext& aead,
                       std::vector<uint8_t>& out) {
  Status s = [&]() -> Status {
    if (message.size() < header_size) return AuthenticationFailedError();
    // Room for every frame's sealed bytes: the plaintext is shorter.
    out.resize(message.size() - header_size);
    size_t pos = header_size, written = 0;
    for (uint64_t seq = 1;; ++seq) {
      if (seq > kMaxFrames) return AuthenticationFailedError();
      FrameRef frame;
      if (ParseFrame(message.subspan(pos), frame_size, tag_len, frame) != FrameParse::kFrame) {
        return AuthenticationFailedError();
      }
      SES_RETURN_IF_ERROR(OpenFrame(aead, seq, frame, std::span<uint8_t>(out.data() + written, frame.sealed.size())));
      written += frame.length;
      pos += frame.consumed;
      if (frame.type == kFrameFinal) break;
    }
    if (pos != message.size()) return AuthenticationFailedError();  // bytes after the final frame
    out.resize(written);
    return OkStatus();
  }();
  if (!s.ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
  }
  return s;
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
