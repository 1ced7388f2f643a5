// Per-thread memos of the engine's most recent data keys.
//
// The common case is many messages in a row under one keyring and context,
// or many decrypts under one data key. A thread remembers the key it used
// last, so such a message takes no lock, builds no string and touches no
// shared counter: usage is charged to the key in batches of kChargeBatch.
// A remembered key is dropped as soon as it is retired, expired or over a
// limit; an idle thread keeps a reference to it (and so its key material)
// until its next call or its exit.
//
// Thread safety: each thread has its own slots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/data_key.h"
#include "ses/envelope.h"

namespace ses::internal {

inline constexpr uint64_t kChargeBatch = 64;

struct EncryptSlot {
  uint64_t engine = 0;  // Engine instance id (never reused)
  uint64_t epoch = 0;   // the cache's encrypt epoch when memoised (rotation bumps it)
  std::string keyring;
  EncryptionContext context;
  std::shared_ptr<const DataKey> key;
  uint64_t pending_messages = 0;  // used but not yet charged to `key`
  uint64_t pending_bytes = 0;
  uint64_t pending_hits = 0;      // not yet added to the cache's stats

  // Charges what is pending to the key.
  void Flush() {
    if (key) {
      key->messages.fetch_add(pending_messages, std::memory_order_relaxed);
      key->bytes.fetch_add(pending_bytes, std::memory_order_relaxed);
    }
    pending_messages = pending_bytes = 0;
  }
  ~EncryptSlot() { Flush(); }
};

struct DecryptSlot {
  uint64_t engine = 0;
  std::shared_ptr<const DataKey> key;
  uint64_t pending_hits = 0;
};

struct ThreadSlots {
  EncryptSlot encrypt;
  DecryptSlot decrypt;
};

inline ThreadSlots& Slots() {
  thread_local ThreadSlots slots;
  return slots;
}

}  // namespace ses::internal
