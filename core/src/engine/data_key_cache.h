// DataKeyCache: bounded, LRU cache of data keys, one map per direction.
//
// Encrypt entries are keyed by keyring and context (a provider may bind the
// context to the wrapped key) and retire once they reach the age, message or
// byte limit. Decrypt entries are keyed by the header bytes without the
// message id: every message under one data key has that same prefix, and a
// key only enters after its header authenticated. Retired entries are wiped
// when their last user releases them.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/data_key.h"
#include "ses/engine.h"

namespace ses::internal {

class DataKeyCache {
 public:
  explicit DataKeyCache(CacheLimits limits) : limits_(limits) {}

  // A usable cached key for one more message of `bytes` bytes, or null.
  // Charges the message to the key.
  std::shared_ptr<const DataKey> GetForEncrypt(const std::string& id, uint64_t bytes);
  // Caches `key` unless ClearEncrypt ran since `epoch` was read (the key may
  // be wrapped under a master-key version that was rotated away meanwhile).
  void PutForEncrypt(const std::string& id, std::shared_ptr<const DataKey> key, uint64_t epoch);
  uint64_t encrypt_epoch() const { return encrypt_epoch_.load(std::memory_order_acquire); }

  std::shared_ptr<const DataKey> GetForDecrypt(const std::string& id);
  void PutForDecrypt(const std::string& id, std::shared_ptr<const DataKey> key);

  // True if `key` is not retired, not too old, and may take `messages` more
  // messages and `bytes` more bytes.
  bool Usable(const DataKey& key, uint64_t messages, uint64_t bytes) const;

  // Retires every encrypt entry, so the next message makes a data key
  // wrapped under the master keys' current versions (after a rotation).
  void ClearEncrypt();

  // Hits served by per-thread memos (thread_slots.h), added in batches.
  void AddHits(uint64_t n) { hits_.fetch_add(n, std::memory_order_relaxed); }

  CacheStats stats() const;
  const CacheLimits& limits() const { return limits_; }
  bool enabled() const { return limits_.enabled && limits_.max_entries > 0; }

 private:
  struct Map {
    using Lru = std::list<std::string>;
    struct Slot {
      std::shared_ptr<const DataKey> key;
      Lru::iterator lru;
    };
    std::unordered_map<std::string, Slot> slots;
    Lru lru;  // most recent first
  };
  std::shared_ptr<const DataKey> Get(Map& m, const std::string& id, uint64_t messages, uint64_t bytes);
  void Put(Map& m, const std::string& id, std::shared_ptr<const DataKey> key);
  void PutLocked(Map& m, const std::string& id, std::shared_ptr<const DataKey> key);  // REQUIRES: mu_ held
  void Erase(Map& m, std::unordered_map<std::string, Map::Slot>::iterator it);

  const CacheLimits limits_;
  mutable std::mutex mu_;
  Map encrypt_;
  Map decrypt_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> encrypt_epoch_{1};  // bumped (under mu_) by ClearEncrypt
  uint64_t misses_ = 0;      // guarded by mu_
  uint64_t evictions_ = 0;   // guarded by mu_
};

}  // namespace ses::internal
