// DataKey: one data key, ready for per-message derivation, with the wrapped
// copies that go into every header made under it.
//
// Immutable once built and shared by every message using it (shared_ptr);
// the key and the keyed HKDF state are wiped when the last user lets go.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "crypto/hkdf.h"
#include "ses/envelope.h"
#include "ses/secret_bytes.h"

namespace ses::internal {

// HKDF salt for the extract step (docs/format.md).
inline constexpr char kDataKeySalt[] = "SES-v1 data key";

struct DataKey {
  DataKey(SecretBytes key, KeyringMode m, std::vector<WrappedDataKey> w)
      : data_key(std::move(key)),
        prk(AsBytes(std::string_view(kDataKeySalt, sizeof(kDataKeySalt) - 1)), data_key.span()),
        mode(m),
        wrapped(std::move(w)),
        created(std::chrono::steady_clock::now()) {}

  SecretBytes data_key;  // kept for rewrapping (ReEncrypt)
  HkdfPrk prk;
  KeyringMode mode;
  std::vector<WrappedDataKey> wrapped;
  std::chrono::steady_clock::time_point created;
  // Encrypt side: the header body with a zero message id and commitment,
  // filled in per message (docs/format.md); empty on the decrypt side.
  std::vector<uint8_t> header_template;
  // Usage under this key, for the cache's message and byte limits.
  mutable std::atomic<uint64_t> messages{0};
  mutable std::atomic<uint64_t> bytes{0};
};

}  // namespace ses::internal
