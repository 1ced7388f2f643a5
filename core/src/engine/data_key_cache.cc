#include "engine/data_key_cache.h"

namespace ses::internal {

bool DataKeyCache::Usable(const DataKey& key, uint64_t messages, uint64_t bytes) const {
  if (key.retired.load(std::memory_order_relaxed)) return false;
  if (CoarseNow() - key.created() >= limits_.max_age) return false;
  if (key.messages.load(std::memory_order_relaxed) + messages > limits_.max_messages) return false;
  return key.bytes.load(std::memory_order_relaxed) + bytes <= limits_.max_bytes;
}

void DataKeyCache::Erase(Map& m, std::unordered_map<std::string, Map::Slot>::iterator it) {
  it->second.key->retired.store(true, std::memory_order_relaxed);
  m.lru.erase(it->second.lru);
  m.slots.erase(it);
  ++evictions_;
}

std::shared_ptr<const DataKey> DataKeyCache::Get(Map& m, const std::string& id, uint64_t messages,
                                                  uint64_t bytes) {
  if (!enabled()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = m.slots.find(id);
  if (it == m.slots.end()) {
    ++misses_;
    return nullptr;
  }
  const DataKey& key = *it->second.key;
  if (!Usable(key, messages, bytes)) {
    Erase(m, it);
    ++misses_;
    return nullptr;
  }
  key.messages.fetch_add(messages, std::memory_order_relaxed);
  key.bytes.fetch_add(bytes, std::memory_order_relaxed);
  m.lru.splice(m.lru.begin(), m.lru, it->second.lru);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second.key;
}

void DataKeyCache::Put(Map& m, const std::string& id, std::shared_ptr<const DataKey> key) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  PutLocked(m, id, std::move(key));
}

void DataKeyCache::PutLocked(Map& m, const std::string& id, std::shared_ptr<const DataKey> key) {
  auto it = m.slots.find(id);
  if (it != m.slots.end()) Erase(m, it);  // another thread raced us; keep the newer key
  while (m.slots.size() >= limits_.max_entries) Erase(m, m.slots.find(m.lru.back()));
  m.lru.push_front(id);
  m.slots.emplace(id, Map::Slot{std::move(key), m.lru.begin()});
}

std::shared_ptr<const DataKey> DataKeyCache::GetForEncrypt(const std::string& id, uint64_t bytes) {
  return Get(encrypt_, id, 1, bytes);
}
void DataKeyCache::PutForEncrypt(const std::string& id, std::shared_ptr<const DataKey> key, uint64_t epoch) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != encrypt_epoch_.load(std::memory_order_relaxed)) return;
  PutLocked(encrypt_, id, std::move(key));
}
std::shared_ptr<const DataKey> DataKeyCache::GetForDecrypt(const std::string& id) {
  return Get(decrypt_, id, 0, 0);
}
void DataKeyCache::PutForDecrypt(const std::string& id, std::shared_ptr<const DataKey> key) {
  Put(decrypt_, id, std::move(key));
}

void DataKeyCache::ClearEncrypt() {
  std::lock_guard<std::mutex> lock(mu_);
  encrypt_epoch_.fetch_add(1, std::memory_order_acq_rel);
  while (!encrypt_.slots.empty()) Erase(encrypt_, encrypt_.slots.begin());
}

CacheStats DataKeyCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return CacheStats{hits_.load(std::memory_order_relaxed), misses_, evictions_};
}

}  // namespace ses::internal
