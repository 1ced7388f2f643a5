// The store kind through the loader: the real store-sqlite plugin is listed
// as a store and makes working instances that outlive the Registry; the
// loader refuses incomplete store tables; the host wrapper copes with a
// store plugin that throws, returns more than its first buffer, or breaks
// the output protocol.
#include <dlfcn.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader_test_util.h"
#include "ses/registry.h"

namespace ses::loader_test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const std::string kSqlitePath = (std::filesystem::path(SES_TEST_PLUGIN_DIR) / "ses_store-sqlite.so").string();

std::optional<PluginDescriptor> Describe(const Registry& registry, const std::string& name) {
  for (auto& d : registry.Plugins()) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

TEST(StorePluginTest, LoadDirectoryListsStoreSqliteAsAStore) {
  Registry registry;
  ASSERT_TRUE(registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok());
  auto d = Describe(registry, "store-sqlite");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, PluginKind::kStore);
  EXPECT_EQ(PluginKindName(d->kind), "store");
  EXPECT_EQ(d->version, "0.1.0");
  EXPECT_EQ(d->abi_major, 1);
  EXPECT_EQ(d->abi_minor, 0);
  EXPECT_EQ(d->path, kSqlitePath);
  EXPECT_EQ(d->uri_schemes, "");
}

TEST(StorePluginTest, AskingForTheWrongKindNamesBothKinds) {
  Registry registry;
  ASSERT_TRUE(registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok());
  EXPECT_THAT(registry.NewKeyProvider("store-sqlite", {}).status(),
              StatusIs(StatusCode::kFailedPrecondition, AllOf(HasSubstr("is a store"), HasSubstr("not a key-provider"))));
  EXPECT_THAT(registry.NewStore("keyfile", {}).status(),
              StatusIs(StatusCode::kFailedPrecondition, AllOf(HasSubstr("is a key-provider"), HasSubstr("not a store"))));
  EXPECT_THAT(registry.NewStore("store-nowhere", {}).status(),
              StatusIs(StatusCode::kNotFound, HasSubstr("store-nowhere")));
}

TEST(StorePluginTest, StoreConfigErrorsNameThePluginFile) {
  Registry registry;
  ASSERT_TRUE(registry.Load(kSqlitePath).ok());
  EXPECT_THAT(registry.NewStore("store-sqlite", {}).status(),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(kSqlitePath), HasSubstr("initialisation failed"), HasSubstr("'path'"))));
}

// The Boost.DLL rule for stores: the library stays mapped while a store lives.
TEST(StorePluginTest, StoreOutlivesTheRegistryThatLoadedIt) {
  TempDir dir;
  std::shared_ptr<Store> store;
  {
    Registry registry;
    ASSERT_TRUE(registry.Load(kSqlitePath).ok());
    auto made = registry.NewStore("store-sqlite", {{"path", (dir.path() / "s.db").string()}});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    store = *made;
  }
  void* handle = ::dlopen(kSqlitePath.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  ::dlclose(handle);
  auto v = store->Put("ns", "k", "v", 0);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1u);
  EXPECT_TRUE(store->Health().ok());
}

TEST(StoreTableTest, AStoreWithoutHealthIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_STORE_NO_HEALTH),
              LoadErrorNaming(SES_FIXTURE_STORE_NO_HEALTH, "store table lacks a mandatory function"));
  EXPECT_TRUE(registry.Plugins().empty());
}

TEST(StoreTableTest, ATruncatedStoreTableIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_STORE_SMALL_TABLE),
              LoadErrorNaming(SES_FIXTURE_STORE_SMALL_TABLE, "store table too small"));
  EXPECT_TRUE(registry.Plugins().empty());
}

class RawStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Load(SES_FIXTURE_RAW_STORE).ok());
    auto made = registry_.NewStore("raw-store", {});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    store_ = *made;
  }
  Registry registry_;
  std::shared_ptr<Store> store_;
};

TEST_F(RawStoreTest, ABufferRequestBeyondTheLimitIsAnInternalError) {
  EXPECT_THAT(store_->Get("ns", "huge").status(),
              StatusIs(StatusCode::kInternal, AllOf(HasSubstr("raw-store"), HasSubstr("more than the limit"))));
}

TEST_F(RawStoreTest, VersionZeroFromThePluginIsAnInternalError) {
  EXPECT_THAT(store_->Get("ns", "version0").status(),
              StatusIs(StatusCode::kInternal, HasSubstr("version 0")));
  EXPECT_THAT(store_->Put("ns", "version0", "v", 0).status(),
              StatusIs(StatusCode::kInternal, HasSubstr("version 0")));
}

TEST_F(RawStoreTest, AnOverrunIsCaught) {
  EXPECT_THAT(store_->Get("ns", "overrun").status(),
              StatusIs(StatusCode::kInternal, HasSubstr("overran its output buffer")));
}

TEST_F(RawStoreTest, AnEmptyErrorMessageIsReplacedAndPrefixed) {
  EXPECT_THAT(store_->Get("ns", "other").status(),
              StatusIs(StatusCode::kNotFound,
                       AllOf(HasSubstr("raw-store"), HasSubstr("plugin returned an error without a message"))));
}

TEST_F(RawStoreTest, HealthFailuresKeepThePluginsWords) {
  EXPECT_THAT(store_->Health(), StatusIs(StatusCode::kUnavailable, ::testing::Eq("raw-store: backend down")));
}

// The ABI carries names as C strings; the host refuses what would be cut short.
TEST_F(RawStoreTest, NamesWithANulNeverReachThePlugin) {
  const std::string nul("a\0b", 3);
  EXPECT_THAT(store_->Get(nul, "k").status(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("ns")));
  EXPECT_THAT(store_->Put("ns", nul, "v", 0).status(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("key")));
  EXPECT_THAT(store_->Remove("ns", nul), StatusIs(StatusCode::kInvalidArgument, HasSubstr("NUL")));
  EXPECT_THAT(store_->List("ns", nul).status(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("prefix")));
}

class FakeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Load(SES_FIXTURE_FAKE_STORE).ok());
    auto made = registry_.NewStore("fake-store", {});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    store_ = *made;
  }
  Registry registry_;
  std::shared_ptr<Store> store_;
};

TEST_F(FakeStoreTest, FailingCreateNamesThePluginFile) {
  EXPECT_THAT(registry_.NewStore("fake-store", {{"fail", "1"}}).status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(SES_FIXTURE_FAKE_STORE), HasSubstr("told to fail"))));
}

TEST_F(FakeStoreTest, ExceptionsBecomeErrorsAndTheStoreKeepsWorking) {
  EXPECT_THAT(store_->Get("ns", "throw").status(),
              StatusIs(StatusCode::kInternal, HasSubstr("plugin raised: backend exploded")));
  EXPECT_THAT(store_->Get("ns", "oom").status(), StatusIs(StatusCode::kResourceExhausted, HasSubstr("out of memory")));
  EXPECT_THAT(store_->Health(), StatusIs(StatusCode::kInternal, HasSubstr("unknown exception")));
  auto r = store_->Get("ns", "fine");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, "fine");
  EXPECT_EQ(r->version, 3u);
}

TEST_F(FakeStoreTest, OutputsLargerThanTheFirstBufferArriveWhole) {
  auto r = store_->Get("ns", "big");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, std::string(5000, 'b'));
  auto keys = store_->List("ns", "many");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_THAT(*keys, SizeIs(600));
  EXPECT_EQ(keys->front(), "many-1000");
  EXPECT_EQ(keys->back(), "many-1599");
}

TEST_F(FakeStoreTest, AListedKeyWithALineBreakIsRefusedNotSplit) {
  EXPECT_THAT(store_->List("ns", "newline").status(), StatusIs(StatusCode::kInternal, HasSubstr("newline")));
  auto none = store_->List("ns", "");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_THAT(*none, ElementsAre());
}

TEST_F(FakeStoreTest, PutAndRemoveCrossTheAbi) {
  auto v = store_->Put("ns", "k", std::string("\0\1", 2), 41);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 42u);
  EXPECT_TRUE(store_->Remove("ns", "k").ok());
}

}  // namespace
}  // namespace ses::loader_test
