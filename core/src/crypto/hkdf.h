// HKDF-SHA256 (RFC 5869) with the extract step done once per data key.
//
// Per-message key derivation is on the hot path, so HkdfPrk keeps the HMAC
// state already keyed with the PRK (the ipad/opad blocks absorbed): each
// 32-byte block of Expand then costs two SHA-256 compressions and no
// allocation. The keyed states are secret; they are wiped on destruction.
//
// Thread safety: Expand is const and may run from many threads at once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

#include "util/bytes.h"

namespace ses::internal {

class HkdfPrk {
 public:
  // HKDF-Extract(salt, ikm), then precomputes the HMAC states for Expand.
  HkdfPrk(ByteView salt, ByteView ikm);
  ~HkdfPrk();
  HkdfPrk(const HkdfPrk&) = delete;
  HkdfPrk& operator=(const HkdfPrk&) = delete;

  // HKDF-Expand(PRK, info, out.size()) where info is the concatenation of
  // `info_parts`. REQUIRES: out.size() <= 255 * 32.
  void Expand(std::initializer_list<ByteView> info_parts, std::span<uint8_t> out) const;

 private:
  struct State;  // two SHA-256 contexts; kept out of the header
  alignas(16) uint8_t state_[2 * 112];
  State& state();
  const State& state() const;
};

}  // namespace ses::internal
