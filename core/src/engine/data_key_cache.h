// DataKeyCache: bounded, LRU cache of data keys, one map per direction.
//
// Encrypt entries are keyed by keyring and context (a provider may bind the
// context to the wrapped key) and retire once they reach the age, message or
// byte limit. Decrypt entries are keyed by the header's wrapped keys and
// context. Evicted entries are wiped when their last user releases them.
//
// Thread safety: all methods are thread-safe.
#pragma once

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

  // A cached key for one more message of `bytes` bytes, or null. Charges the
  // message to the key. bytes may be 0 for streams, which charge as they go.
  std::shared_ptr<const DataKey> GetForEncrypt(const std::string& id, uint64_t bytes);
  void PutForEncrypt(const std::string& id, std::shared_ptr<const DataKey> key);

  std::shared_ptr<const DataKey> GetForDecrypt(const std::string& id);
  void PutForDecrypt(const std::string& id, std::shared_ptr<const DataKey> key);

  // True if `key` may still encrypt `bytes` more bytes.
  bool WithinLimits(const DataKey& key, uint64_t extra_messages, uint64_t extra_bytes) const;

  // Drops every encrypt entry, so the next message makes a data key wrapped
  // under the master keys' current versions (after a rotation).
  void ClearEncrypt();

  CacheStats stats() const;
  const CacheLimits& limits() const { return limits_; }

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

  const CacheLimits limits_;
  mutable std::mutex mu_;
  Map encrypt_;
  Map decrypt_;
  CacheStats stats_;
};

}  // namespace ses::internal
