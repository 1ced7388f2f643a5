#include "envelope/format.h"

#include <cstring>

namespace ses::internal {

Status ValidateContext(const EncryptionContext& context) {
  if (context.size() > kMaxContextEntries) {
    return InvalidArgumentError("encryption context has more than " + std::to_string(kMaxContextEntries) + " entries");
  }
  size_t total = 2;
  for (const auto& [k, v] : context) {
    if (k.empty()) return InvalidArgumentError("encryption context key is empty");
    if (k.size() > 0xffff || v.size() > 0xffff) return InvalidArgumentError("encryption context entry too long");
    total += 4 + k.size() + v.size();
  }
  if (total > kMaxContextBytes) {
    return InvalidArgumentError("encryption context exceeds " + std::to_string(kMaxContextBytes) + " bytes");
  }
  return OkStatus();
}

std::vector<uint8_t> EncodeContext(const EncryptionContext& context) {
  std::vector<uint8_t> out;
  PutU16(out, static_cast<uint16_t>(context.size()));
  for (const auto& [k, v] : context) {
    PutU16(out, static_cast<uint16_t>(k.size()));
    PutBytes(out, AsBytes(k));
    PutU16(out, static_cast<uint16_t>(v.size()));
    PutBytes(out, AsBytes(v));
  }
  return out;
}

std::vector<uint8_t> EncodeHeaderBody(const HeaderInfo& h) {
  std::vector<uint8_t> out;
  PutBytes(out, ByteView(kMagic, sizeof(kMagic)));
  PutU8(out, kFormatVersion);
  PutU32(out, 0);  // header length, patched below
  PutU16(out, h.suite_id);
  PutU8(out, static_cast<uint8_t>(h.mode));
  PutBytes(out, h.message_id);
  PutU32(out, h.frame_size);
  PutBytes(out, EncodeContext(h.context));
  PutU8(out, static_cast<uint8_t>(h.keys.size()));
  for (const auto& k : h.keys) {
    PutU8(out, static_cast<uint8_t>(k.provider.size()));
    PutBytes(out, AsBytes(k.provider));
    PutU16(out, static_cast<uint16_t>(k.key_uri.size()));
    PutBytes(out, AsBytes(k.key_uri));
    PutU8(out, static_cast<uint8_t>(k.key_version.size()));
    PutBytes(out, AsBytes(k.key_version));
    PutU16(out, static_cast<uint16_t>(k.wrapped.size()));
    PutBytes(out, k.wrapped);
  }
  PutBytes(out, h.commitment);
  StoreU32(out.data() + 4, static_cast<uint32_t>(out.size() + kHeaderTagSize));
  return out;
}

StatusOr<size_t> DecodeHeaderSize(ByteView prefix) {
  if (prefix.size() < kPrefixSize || std::memcmp(prefix.data(), kMagic, 3) != 0 ||
      prefix[3] != kFormatVersion) {
    return AuthenticationFailedError();
  }
  size_t size = LoadU32(prefix.data() + 4);
  if (size < kPrefixSize || size > kMaxHeaderSize) return AuthenticationFailedError();
  return size;
}

namespace {

bool ReadString(ByteReader& r, size_t len, size_t cap, std::string& out) {
  ByteView b;
  if (len > cap || !r.ReadBytes(len, b)) return false;
  out.assign(AsChars(b));
  return true;
}

// Names that go to providers as C strings: a NUL would silently cut them.
bool ReadName(ByteReader& r, size_t len, size_t cap, std::string& out) {
  return ReadString(r, len, cap, out) && out.find('\0') == std::string::npos;
}

}  // namespace

StatusOr<HeaderInfo> DecodeHeader(ByteView header) {
  SES_ASSIGN_OR_RETURN(size_t size, DecodeHeaderSize(header));
  if (header.size() != size) return AuthenticationFailedError();

  HeaderInfo h;
  h.header_size = size;
  ByteReader r(header.subspan(kPrefixSize));
  uint8_t mode = 0;
  ByteView id;
  if (!r.ReadU16(h.suite_id) || !r.ReadU8(mode) || !r.ReadBytes(kMessageIdSize, id) ||
      !r.ReadU32(h.frame_size)) {
    return AuthenticationFailedError();
  }
  if (mode != static_cast<uint8_t>(KeyringMode::kAny) && mode != static_cast<uint8_t>(KeyringMode::kAll)) {
    return AuthenticationFailedError();
  }
  h.mode = static_cast<KeyringMode>(mode);
  std::memcpy(h.message_id.data(), id.data(), kMessageIdSize);
  if (h.frame_size < kMinFrameSize || h.frame_size > kMaxFrameSize) return AuthenticationFailedError();

  uint16_t n_ctx = 0;
  if (!r.ReadU16(n_ctx) || n_ctx > kMaxContextEntries) return AuthenticationFailedError();
  size_t ctx_start = r.position();
  std::string prev;
  for (uint16_t i = 0; i < n_ctx; ++i) {
    uint16_t kl = 0, vl = 0;
    std::string k, v;
    if (!r.ReadU16(kl) || kl == 0 || !ReadString(r, kl, kMaxContextBytes, k) || !r.ReadU16(vl) ||
        !ReadString(r, vl, kMaxContextBytes, v)) {
      return AuthenticationFailedError();
    }
    // Canonical order, no duplicates: one context has one encoding.
    if (i > 0 && !(prev < k)) return AuthenticationFailedError();
    prev = k;
    h.context.emplace(std::move(k), std::move(v));
  }
  if (r.position() - ctx_start + 2 > kMaxContextBytes) return AuthenticationFailedError();

  uint8_t n_keys = 0;
  if (!r.ReadU8(n_keys) || n_keys == 0 || n_keys > kMaxWrappedKeys) return AuthenticationFailedError();
  for (uint8_t i = 0; i < n_keys; ++i) {
    WrappedDataKey k;
    uint8_t pl = 0, vl = 0;
    uint16_t ul = 0, wl = 0;
    ByteView wrapped;
    if (!r.ReadU8(pl) || pl == 0 || !ReadName(r, pl, kMaxProviderName, k.provider) || !r.ReadU16(ul) ||
        ul == 0 || !ReadName(r, ul, kMaxKeyUri, k.key_uri) || !r.ReadU8(vl) ||
        !ReadName(r, vl, kMaxKeyVersion, k.key_version) || !r.ReadU16(wl) || wl == 0 ||
        wl > kMaxWrappedBytes || !r.ReadBytes(wl, wrapped)) {
      return AuthenticationFailedError();
    }
    // The encoder never names a master key twice; a header that does could
    // only make the engine call a provider again and again.
    for (const auto& other : h.keys) {
      if (other.provider == k.provider && other.key_uri == k.key_uri) return AuthenticationFailedError();
    }
    k.wrapped.assign(wrapped.begin(), wrapped.end());
    h.keys.push_back(std::move(k));
  }
  ByteView commitment;
  if (!r.ReadBytes(kCommitmentSize, commitment)) return AuthenticationFailedError();
  std::memcpy(h.commitment.data(), commitment.data(), kCommitmentSize);

  ByteView tag;
  if (r.remaining() != kHeaderTagSize || !r.ReadBytes(kHeaderTagSize, tag)) return AuthenticationFailedError();
  h.tag.assign(tag.begin(), tag.end());
  return h;
}

void MakeNonce(uint64_t seq, uint8_t type, uint8_t nonce[12]) {
  nonce[0] = type;
  nonce[1] = nonce[2] = nonce[3] = 0;
  StoreU64(nonce + 4, seq);
}

}  // namespace ses::internal
