// HMAC-SHA256 with precomputed keyed states, and HKDF-SHA256 (RFC 5869) on
// top of it with the extract step done once per data key.
//
// Per-message key derivation is on the hot path. HmacSha256 absorbs the
// ipad/opad blocks once; a Run is a copyable checkpoint of the inner hash, so
// a fixed prefix (a label, a suite id) can be absorbed once too and each
// message then costs two SHA-256 compressions and no allocation. Keyed
// states are secret and are wiped on destruction.
//
// Thread safety: HmacSha256 and HkdfPrk are immutable after construction and
// may be used from many threads; a Run belongs to one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

#include "util/bytes.h"

namespace ses::internal {

inline constexpr size_t kSha256Size = 32;

class HmacSha256 {
 public:
  explicit HmacSha256(ByteView key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  class Run {
   public:
    Run(const Run&) = default;
    Run& operator=(const Run&) = default;
    ~Run();
    void Update(ByteView data);
    // Ends this run; copy it first to continue from the same point later.
    void Final(std::span<uint8_t, kSha256Size> out);

   private:
    friend class HmacSha256;
    explicit Run(const HmacSha256* key);
    const HmacSha256* key_;
    alignas(16) uint8_t inner_[112];
  };

  Run Begin() const { return Run(this); }

  // HMAC of a message of at most 55 bytes, given as the one SHA-256 block it
  // pads to (message, 0x80, zeros, 64-bit big-endian bit length counting the
  // 64-byte key block). Two block transforms and nothing else: the per-message
  // path. Callers build the block with PadOneBlock.
  void MacPaddedBlock(const uint8_t block[64], std::span<uint8_t, kSha256Size> out) const;
  // Pads `message` (at most 55 bytes) into `block` for MacPaddedBlock.
  static void PadOneBlock(ByteView message, uint8_t block[64]);

 private:
  alignas(16) uint8_t inner_[112];  // SHA-256 state after key ^ ipad
  alignas(16) uint8_t outer_[112];  // SHA-256 state after key ^ opad
};

class HkdfPrk {
 public:
  // HKDF-Extract(salt, ikm).
  HkdfPrk(ByteView salt, ByteView ikm);

  // HKDF-Expand(PRK, info, out.size()) where info is the concatenation of
  // `info_parts`. REQUIRES: out.size() <= 255 * 32.
  void Expand(std::initializer_list<ByteView> info_parts, std::span<uint8_t> out) const;

  // The PRK as a keyed HMAC, for callers that precompute a fixed info
  // prefix: T(1) = HMAC(PRK, info | 0x01).
  const HmacSha256& hmac() const { return hmac_; }

 private:
  struct PrkBytes {
    uint8_t bytes[kSha256Size];
    ~PrkBytes();
  };
  static PrkBytes Extract(ByteView salt, ByteView ikm);
  HmacSha256 hmac_;
};

}  // namespace ses::internal
