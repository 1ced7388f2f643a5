#include "engine/data_key_cache.h"

namespace ses::internal {

bool DataKeyCache::WithinLimits(const DataKey& key, uint64_t extra_messages, uint64_t extra_bytes) const {
  if (std::chrono::steady_clock::now() - key.created >= limits_.max_age) return false;
  if (key.messages.load(std::memory_order_relaxed) + extra_messages > limits_.max_messages) return false;
  return key.bytes.load(std::memory_order_relaxed) + extra_bytes <= limits_.max_bytes;
}

std::shared_ptr<const DataKey> DataKeyCache::Get(Map& m, const std::string& id, uint64_t messages,
                                                  uint64_t bytes) {
  if (!limits_.enabled) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = m.slots.find(id);
  if (it == m.slots.end()) {
    ++stats_.misses;
    return nullptr;
  }
  const DataKey& key = *it->second.key;
  if (!WithinLimits(key, messages, bytes)) {
    m.lru.erase(it->second.lru);
    m.slots.erase(it);
    ++stats_.evictions;
    ++stats_.misses;
    return nullptr;
  }
  key.messages.fetch_add(messages, std::memory_order_relaxed);
  key.bytes.fetch_add(bytes, std::memory_order_relaxed);
  m.lru.splice(m.lru.begin(), m.lru, it->second.lru);
  ++stats_.hits;
  return it->second.key;
}

void DataKeyCache::Put(Map& m, const std::string& id, std::shared_ptr<const DataKey> key) {
  if (!limits_.enabled || limits_.max_entries == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = m.slots.find(id);
  if (it != m.slots.end()) {
    // Another thread raced us to the same id; keep the newer key.
    it->second.key = std::move(key);
    m.lru.splice(m.lru.begin(), m.lru, it->second.lru);
    return;
  }
  while (m.slots.size() >= limits_.max_entries) {
    m.slots.erase(m.lru.back());
    m.lru.pop_back();
    ++stats_.evictions;
  }
  m.lru.push_front(id);
  m.slots.emplace(id, Map::Slot{std::move(key), m.lru.begin()});
}

std::shared_ptr<const DataKey> DataKeyCache::GetForEncrypt(const std::string& id, uint64_t bytes) {
  return Get(encrypt_, id, 1, bytes);
}
void DataKeyCache::PutForEncrypt(const std::string& id, std::shared_ptr<const DataKey> key) {
  Put(encrypt_, id, std::move(key));
}
std::shared_ptr<const DataKey> DataKeyCache::GetForDecrypt(const std::string& id) {
  return Get(decrypt_, id, 0, 0);
}
void DataKeyCache::PutForDecrypt(const std::string& id, std::shared_ptr<const DataKey> key) {
  Put(decrypt_, id, std::move(key));
}

void DataKeyCache::ClearEncrypt() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.evictions += encrypt_.slots.size();
  encrypt_.slots.clear();
  encrypt_.lru.clear();
}

CacheStats DataKeyCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace ses::internal
