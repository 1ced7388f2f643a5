#include "store_conformance.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <vector>

#include <gmock/gmock.h>

#include "status_matchers.h"

namespace ses::store_test {

void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; }

void StoreConformanceTest::SetUp() {
  auto made = GetParam().make();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  store_ = std::move(made).value();
  ASSERT_NE(store_, nullptr);
}

namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::ses::testing::StatusIs;

MATCHER_P(HasCode, code, "has code " + std::string(StatusCodeName(code))) {
  *result_listener << "whose status is " << arg.ToString();
  return arg.code() == code;
}

std::string AllBytes() {
  std::string v;
  for (int i = 0; i < 256; ++i) v.push_back(static_cast<char>(i));
  return v;
}

TEST_P(StoreConformanceTest, GetOfAbsentRecordIsNotFound) {
  EXPECT_THAT(store_->Get("conf", "missing").status(), HasCode(StatusCode::kNotFound));
}

TEST_P(StoreConformanceTest, PutCreatesAtVersionOneAndGetReadsIt) {
  auto v = store_->Put("conf", "k", "hello", 0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
  auto r = store_->Get("conf", "k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, "hello");
  EXPECT_EQ(r->version, 1u);
}

TEST_P(StoreConformanceTest, EachWriteAddsOneToTheVersion) {
  uint64_t version = 0;
  for (int i = 1; i <= 5; ++i) {
    auto v = store_->Put("conf", "counter", "value " + std::to_string(i), version);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(*v, version + 1);
    version = *v;
  }
  auto r = store_->Get("conf", "counter");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 5u);
  EXPECT_EQ(r->value, "value 5");
}

TEST_P(StoreConformanceTest, CreatingAnExistingRecordConflictsAndNamesBothVersions) {
  ASSERT_TRUE(store_->Put("conf-ns", "taken", "first-secret-value", 0).ok());
  ASSERT_TRUE(store_->Put("conf-ns", "taken", "second-secret-value", 1).ok());
  auto again = store_->Put("conf-ns", "taken", "third-secret-value", 0);
  EXPECT_THAT(again.status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("conf-ns"), HasSubstr("taken"), HasSubstr("0"), HasSubstr("2"),
                             Not(HasSubstr("secret-value")))));
  auto r = store_->Get("conf-ns", "taken");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, "second-secret-value");
  EXPECT_EQ(r->version, 2u);
}

TEST_P(StoreConformanceTest, StaleVersionConflictsAndLeavesTheRecordAlone) {
  uint64_t version = 0;
  for (int i = 0; i < 3; ++i) {
    auto v = store_->Put("conf-ns", "cas-key", "v" + std::to_string(i), version);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    version = *v;
  }
  ASSERT_EQ(version, 3u);
  auto stale = store_->Put("conf-ns", "cas-key", "lost-secret-value", 7);
  EXPECT_THAT(stale.status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("conf-ns"), HasSubstr("cas-key"), HasSubstr("7"), HasSubstr("3"),
                             Not(HasSubstr("secret-value")))));
  auto r = store_->Get("conf-ns", "cas-key");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, "v2");
  EXPECT_EQ(r->version, 3u);
}

TEST_P(StoreConformanceTest, ReplacingAnAbsentRecordConflicts) {
  auto v = store_->Put("conf-ns", "ghost", "x", 5);
  EXPECT_THAT(v.status(), StatusIs(StatusCode::kFailedPrecondition,
                                   AllOf(HasSubstr("conf-ns"), HasSubstr("ghost"), HasSubstr("5"))));
  EXPECT_THAT(store_->Get("conf-ns", "ghost").status(), HasCode(StatusCode::kNotFound));
}

TEST_P(StoreConformanceTest, RemoveDeletesAndARecreatedRecordStartsAgainAtOne) {
  ASSERT_TRUE(store_->Put("conf", "gone", "a", 0).ok());
  ASSERT_TRUE(store_->Put("conf", "gone", "b", 1).ok());
  ASSERT_TRUE(store_->Remove("conf", "gone").ok());
  EXPECT_THAT(store_->Get("conf", "gone").status(), HasCode(StatusCode::kNotFound));
  EXPECT_THAT(store_->Remove("conf", "gone"), HasCode(StatusCode::kNotFound));
  auto v = store_->Put("conf", "gone", "c", 0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
}

TEST_P(StoreConformanceTest, RemoveOfAbsentRecordIsNotFound) {
  EXPECT_THAT(store_->Remove("conf", "never"), HasCode(StatusCode::kNotFound));
}

TEST_P(StoreConformanceTest, NamespacesAreSeparate) {
  ASSERT_TRUE(store_->Put("ns-a", "same", "in a", 0).ok());
  ASSERT_TRUE(store_->Put("ns-b", "same", "in b", 0).ok());
  auto a = store_->Get("ns-a", "same");
  auto b = store_->Get("ns-b", "same");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->value, "in a");
  EXPECT_EQ(b->value, "in b");
  ASSERT_TRUE(store_->Remove("ns-a", "same").ok());
  EXPECT_TRUE(store_->Get("ns-b", "same").ok());
  auto list = store_->List("ns-a", "");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_THAT(*list, IsEmpty());
}

TEST_P(StoreConformanceTest, ListReturnsTheKeysWithThePrefixSorted) {
  for (const char* key : {"key/3", "other", "key/1", "key", "key/10", "kez", "key/2", "kex/1"}) {
    ASSERT_TRUE(store_->Put("list", key, "v", 0).ok()) << key;
  }
  ASSERT_TRUE(store_->Put("list-other-ns", "key/4", "v", 0).ok());

  auto keys = store_->List("list", "key/");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_THAT(*keys, ElementsAre("key/1", "key/10", "key/2", "key/3"));

  auto all = store_->List("list", "");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_THAT(*all, ElementsAre("kex/1", "key", "key/1", "key/10", "key/2", "key/3", "kez", "other"));

  auto none = store_->List("list", "zzz");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_THAT(*none, IsEmpty());
  auto empty_ns = store_->List("no-such-namespace", "");
  ASSERT_TRUE(empty_ns.ok()) << empty_ns.status().ToString();
  EXPECT_THAT(*empty_ns, IsEmpty());
}

// SQL's LIKE and shell globs give these characters meaning; a prefix must not.
TEST_P(StoreConformanceTest, ListTakesThePrefixLiterally) {
  for (const char* key : {"a%1", "ab1", "a_2", "ac2", "a*3", "a?4", "a[5", "a\\6"}) {
    ASSERT_TRUE(store_->Put("wild", key, "v", 0).ok()) << key;
  }
  for (const char* prefix : {"a%", "a_", "a*", "a?", "a[", "a\\"}) {
    auto keys = store_->List("wild", prefix);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    ASSERT_EQ(keys->size(), 1u) << prefix;
    EXPECT_EQ(keys->front().substr(0, 2), prefix);
  }
}

// Byte order, not a locale's: upper case before lower, multi-byte UTF-8 last.
TEST_P(StoreConformanceTest, ListSortsByBytes) {
  for (const char* key : {"b", "\xc3\xa9t\xc3\xa9", "B", "a", "Z", "\xe2\x82\xac"}) {
    ASSERT_TRUE(store_->Put("order", key, "v", 0).ok()) << key;
  }
  auto keys = store_->List("order", "");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_THAT(*keys, ElementsAre("B", "Z", "a", "b", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac"));
  auto accented = store_->List("order", "\xc3\xa9");
  ASSERT_TRUE(accented.ok()) << accented.status().ToString();
  EXPECT_THAT(*accented, ElementsAre("\xc3\xa9t\xc3\xa9"));
}

TEST_P(StoreConformanceTest, BinaryValuesRoundTripExactly) {
  std::string with_nuls("\0a\0\0b\0", 6);
  std::string all = AllBytes() + AllBytes();
  ASSERT_TRUE(store_->Put("bin", "nuls", with_nuls, 0).ok());
  ASSERT_TRUE(store_->Put("bin", "all", all, 0).ok());
  ASSERT_TRUE(store_->Put("bin", "empty", "", 0).ok());
  auto a = store_->Get("bin", "nuls");
  auto b = store_->Get("bin", "all");
  auto c = store_->Get("bin", "empty");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->value, with_nuls);
  EXPECT_EQ(b->value, all);
  EXPECT_EQ(c->value, "");
  EXPECT_EQ(c->version, 1u);
}

TEST_P(StoreConformanceTest, LargestValueRoundTripsAndALargerOneIsRefused) {
  std::string big;
  big.reserve(kMaxStoreValueBytes + 1);
  while (big.size() < kMaxStoreValueBytes) big += AllBytes();
  big.resize(kMaxStoreValueBytes);
  auto v = store_->Put("big", "max", big, 0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto r = store_->Get("big", "max");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->value == big);

  big.push_back('x');
  EXPECT_THAT(store_->Put("big", "over", big, 0).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr(std::to_string(kMaxStoreValueBytes))));
  EXPECT_THAT(store_->Get("big", "over").status(), HasCode(StatusCode::kNotFound));
  // Nor may an oversized value replace a record.
  EXPECT_THAT(store_->Put("big", "max", big, 1).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST_P(StoreConformanceTest, NamesUpToTheLimitWorkAndLongerOnesAreRefused) {
  std::string longest(kMaxStoreNameBytes, 'n');
  ASSERT_TRUE(store_->Put(longest, longest, "v", 0).ok());
  auto r = store_->Get(longest, longest);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto listed = store_->List(longest, longest);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_THAT(*listed, ElementsAre(longest));

  std::string over = longest + "n";
  EXPECT_THAT(store_->Put(over, "k", "v", 0).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("ns")));
  EXPECT_THAT(store_->Put("ns", over, "v", 0).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("key")));
  EXPECT_THAT(store_->Get("ns", over).status(), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->Remove("ns", over), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->List("ns", over).status(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("prefix")));
}

TEST_P(StoreConformanceTest, MalformedNamesAreRefused) {
  const std::string bad[] = {
      "",                      // empty
      "line\nbreak",           // would split a listing
      std::string("nul\0", 4), // cannot cross the ABI as a C string
      "tab\there",             // control character
      "\xff\xfe",              // not UTF-8
      "\xc0\xaf",              // overlong '/'
      "\xed\xa0\x80",          // a UTF-16 surrogate
  };
  for (const auto& name : bad) {
    SCOPED_TRACE(::testing::PrintToString(name));
    EXPECT_THAT(store_->Put("ns", name, "v", 0).status(), HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(store_->Put(name, "key", "v", 0).status(), HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(store_->Get("ns", name).status(), HasCode(StatusCode::kInvalidArgument));
    EXPECT_THAT(store_->Remove(name, "key"), HasCode(StatusCode::kInvalidArgument));
    if (!name.empty()) {
      EXPECT_THAT(store_->List("ns", name).status(), HasCode(StatusCode::kInvalidArgument));
    }
  }
  auto all = store_->List("ns", "");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_THAT(*all, IsEmpty());
  // Multi-byte UTF-8 is fine.
  EXPECT_TRUE(store_->Put("n\xc3\xa4mespace", "\xf0\x9f\x94\x91", "v", 0).ok());
}

// Four threads increment one counter by read-modify-write. Each success must
// show in the final value: a lost update would leave it short.
TEST_P(StoreConformanceTest, ConcurrentCompareAndSetLosesNoUpdate) {
  constexpr int kThreads = 4;
  constexpr int kAttempts = 100;
  ASSERT_TRUE(store_->Put("cas", "counter", "0", 0).ok());

  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  std::mutex error_mu;
  std::vector<std::string> errors;
  auto worker = [&] {
    for (int i = 0; i < kAttempts; ++i) {
      auto r = store_->Get("cas", "counter");
      if (!r.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        errors.push_back("get: " + r.status().ToString());
        return;
      }
      uint64_t n = 0;
      std::from_chars(r->value.data(), r->value.data() + r->value.size(), n);
      auto put = store_->Put("cas", "counter", std::to_string(n + 1), r->version);
      if (put.ok()) {
        successes.fetch_add(1);
      } else if (put.status().code() == StatusCode::kFailedPrecondition) {
        conflicts.fetch_add(1);
      } else {
        std::lock_guard<std::mutex> lock(error_mu);
        errors.push_back("put: " + put.status().ToString());
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  ASSERT_THAT(errors, IsEmpty());
  EXPECT_EQ(successes.load() + conflicts.load(), kThreads * kAttempts);
  EXPECT_GE(successes.load(), kAttempts);  // at least one thread's worth got through
  auto r = store_->Get("cas", "counter");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, std::to_string(successes.load()));
  EXPECT_EQ(r->version, static_cast<uint64_t>(successes.load()) + 1);
}

TEST_P(StoreConformanceTest, HealthIsOk) {
  EXPECT_TRUE(store_->Health().ok());
  ASSERT_TRUE(store_->Put("health", "k", "v", 0).ok());
  EXPECT_TRUE(store_->Health().ok());
}

}  // namespace
}  // namespace ses::store_test
