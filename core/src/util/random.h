// Batched randomness for per-message values (message ids).
//
// One RAND_bytes call costs about a microsecond, a large share of a 1 KiB
// message, so each thread draws 4 KiB at a time and hands out slices. Only
// for public values (message ids): slices are not wiped. A forked child
// never reuses its parent's batch (it would repeat message ids).
//
// Thread safety: thread-local state; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ses/status.h"

namespace ses::internal {

// REQUIRES: n <= 256.
Status RandomBytesBatched(uint8_t* out, size_t n);
// Straight from the DRBG, for keys.
Status RandomBytes(uint8_t* out, size_t n);

}  // namespace ses::internal
