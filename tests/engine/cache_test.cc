// The data-key cache: one provider call per data key, and fresh data keys
// once a limit is reached.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

std::vector<uint8_t> WrappedOf(const std::vector<uint8_t>& msg) { return Engine::Inspect(msg)->keys[0].wrapped; }

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.CreateKey("a.key"); }
  TestEnv env_;
  const std::vector<KeyringConfig> keyrings_ = {TestEnv::Keyring("default", {"keyfile://a.key"})};
};

TEST_F(CacheTest, MessagesShareACachedDataKey) {
  auto e = env_.MakeEngine(keyrings_);
  auto first = e->Encrypt("default", {}, PatternBytes(10));
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 20; ++i) {
    auto m = e->Encrypt("default", {}, PatternBytes(10));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(WrappedOf(*m), WrappedOf(*first));
  }
  CacheStats s = e->cache_stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 20u);
}

TEST_F(CacheTest, DifferentContextsGetDifferentDataKeys) {
  auto e = env_.MakeEngine(keyrings_);
  auto a = e->Encrypt("default", {{"t", "1"}}, PatternBytes(10));
  auto b = e->Encrypt("default", {{"t", "2"}}, PatternBytes(10));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(WrappedOf(*a), WrappedOf(*b));
}

TEST_F(CacheTest, MessageLimitRetiresTheDataKey) {
  CacheLimits limits;
  limits.max_messages = 3;
  auto e = env_.MakeEngine(keyrings_, limits);
  std::vector<std::vector<uint8_t>> wrapped;
  for (int i = 0; i < 7; ++i) wrapped.push_back(WrappedOf(*e->Encrypt("default", {}, PatternBytes(10))));
  EXPECT_EQ(wrapped[0], wrapped[2]);
  EXPECT_NE(wrapped[2], wrapped[3]);
  EXPECT_EQ(wrapped[3], wrapped[5]);
  EXPECT_NE(wrapped[5], wrapped[6]);
}

TEST_F(CacheTest, ByteLimitRetiresTheDataKey) {
  CacheLimits limits;
  limits.max_bytes = 250;
  auto e = env_.MakeEngine(keyrings_, limits);
  auto a = WrappedOf(*e->Encrypt("default", {}, PatternBytes(100)));
  auto b = WrappedOf(*e->Encrypt("default", {}, PatternBytes(100)));
  auto c = WrappedOf(*e->Encrypt("default", {}, PatternBytes(100)));
  EXPECT_EQ(a, b);
  EXPECT_NE(b, c);
}

TEST_F(CacheTest, DisabledCacheMakesADataKeyPerMessage) {
  CacheLimits limits;
  limits.enabled = false;
  auto e = env_.MakeEngine(keyrings_, limits);
  auto a = e->Encrypt("default", {}, PatternBytes(10));
  auto b = e->Encrypt("default", {}, PatternBytes(10));
  EXPECT_NE(WrappedOf(*a), WrappedOf(*b));
  EXPECT_TRUE(e->Decrypt(*a, {}).ok());
}

TEST_F(CacheTest, DecryptCachesTheUnwrappedKey) {
  auto enc = env_.MakeEngine(keyrings_);
  auto dec = env_.MakeEngine(keyrings_);
  for (int i = 0; i < 5; ++i) {
    auto m = enc->Encrypt("default", {}, PatternBytes(10));
    ASSERT_TRUE(dec->Decrypt(*m, {}).ok());
  }
  EXPECT_EQ(dec->cache_stats().misses, 1u);
  EXPECT_EQ(dec->cache_stats().hits, 4u);
}

TEST_F(CacheTest, EntryLimitEvictsTheLeastRecentlyUsed) {
  CacheLimits limits;
  limits.max_entries = 2;
  auto e = env_.MakeEngine(keyrings_, limits);
  auto k1 = WrappedOf(*e->Encrypt("default", {{"c", "1"}}, PatternBytes(1)));
  (void)e->Encrypt("default", {{"c", "2"}}, PatternBytes(1));
  (void)e->Encrypt("default", {{"c", "3"}}, PatternBytes(1));  // evicts c=1
  auto again = WrappedOf(*e->Encrypt("default", {{"c", "1"}}, PatternBytes(1)));
  EXPECT_NE(k1, again);
  EXPECT_GE(e->cache_stats().evictions, 1u);
}

// Two threads sharing one engine: no error and every message opens.
TEST_F(CacheTest, ConcurrentUseIsSafe) {
  auto e = env_.MakeEngine(keyrings_);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto plain = PatternBytes(static_cast<size_t>(i), static_cast<uint32_t>(t));
        auto m = e->Encrypt("default", {{"t", std::to_string(t % 2)}}, plain);
        auto r = m.ok() ? e->Decrypt(*m, {{"t", std::to_string(t % 2)}}) : StatusOr<std::vector<uint8_t>>(m.status());
        if (!r.ok() || *r != plain) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace ses
