// Registry::Load against files that must be refused: each refusal is one
// kFailedPrecondition naming the file and the reason, and leaves nothing
// registered. The broken plugins are real .so files built by this folder's
// CMakeLists.txt, so the checks run against what dlopen really sees.
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader_test_util.h"
#include "ses/registry.h"

namespace ses::loader_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(LoadErrorsTest, MissingFileIsRefusedAsNotFound) {
  TempDir dir;
  std::string missing = (dir.path() / "ses_missing.so").string();
  Registry registry;
  EXPECT_THAT(registry.Load(missing), LoadErrorNaming(missing, "file not found"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, DirectoryIsRefusedAsNotARegularFile) {
  TempDir dir;
  Registry registry;
  EXPECT_THAT(registry.Load(dir.path()), LoadErrorNaming(dir.path().string(), "not a regular file"));
}

TEST(LoadErrorsTest, TextFileNamedLikeAPluginCannotBeLoaded) {
  TempDir dir;
  std::string garbage = (dir.path() / "ses_garbage.so").string();
  std::ofstream(garbage) << "this is not an ELF file\n";
  Registry registry;
  EXPECT_THAT(registry.Load(garbage), LoadErrorNaming(garbage, "cannot be loaded"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, SharedLibraryWithoutEntryPointIsNotAPlugin) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_NO_ENTRY),
              LoadErrorNaming(SES_FIXTURE_NO_ENTRY, "no ses_plugin_entry symbol"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, EntryPointReturningNullIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_NULL_INFO),
              LoadErrorNaming(SES_FIXTURE_NULL_INFO, "ses_plugin_entry returned nothing"));
}

TEST(LoadErrorsTest, PluginInfoShorterThanV1IsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_SHORT_INFO),
              LoadErrorNaming(SES_FIXTURE_SHORT_INFO, "plugin info too small"));
}

TEST(LoadErrorsTest, ForeignAbiMajorIsRefusedNamingBothVersions) {
  Registry registry;
  Status s = registry.Load(SES_FIXTURE_ABI99);
  EXPECT_THAT(s, LoadErrorNaming(SES_FIXTURE_ABI99, "ABI version 99"));
  // The reader needs to know what to rebuild against, not only what failed.
  EXPECT_THAT(s.message(), HasSubstr("this host speaks 1.x"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, InvalidPluginNameIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_BAD_NAME),
              LoadErrorNaming(SES_FIXTURE_BAD_NAME, "invalid plugin name"));
}

TEST(LoadErrorsTest, UnknownPluginKindIsRefusedWithItsNumber) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_KIND42),
              LoadErrorNaming(SES_FIXTURE_KIND42, "unknown plugin kind 42"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, KeyProviderTableShorterThanV1IsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_SMALL_TABLE),
              LoadErrorNaming(SES_FIXTURE_SMALL_TABLE, "key-provider table too small"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadErrorsTest, KeyProviderTableWithoutUnwrapIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.Load(SES_FIXTURE_NO_UNWRAP),
              LoadErrorNaming(SES_FIXTURE_NO_UNWRAP, "key-provider table lacks a mandatory function"));
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

// The control for the cases above: the same source, unbent, loads. Without
// it a broken fixture build would pass every refusal test for the wrong reason.
TEST(LoadErrorsTest, HandWrittenPluginThatFollowsTheAbiLoads) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_RAW).ok());
  auto plugins = registry.Plugins();
  ASSERT_THAT(plugins, SizeIs(1));
  EXPECT_EQ(plugins[0].name, "raw");
  EXPECT_EQ(plugins[0].kind, PluginKind::kKeyProvider);
  EXPECT_EQ(plugins[0].version, "0.0.1");
  EXPECT_EQ(plugins[0].path, SES_FIXTURE_RAW);
  EXPECT_EQ(plugins[0].uri_schemes, "raw");
}

TEST(DuplicateNameTest, SecondFileWithTheSameNameIsRefusedNamingBothFiles) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_DUP_A).ok());
  Status s = registry.Load(SES_FIXTURE_DUP_B);
  EXPECT_THAT(s, LoadErrorNaming(SES_FIXTURE_DUP_B, "duplicate plugin name 'dup'"));
  EXPECT_THAT(s.message(), HasSubstr(std::string("already loaded from ") + SES_FIXTURE_DUP_A));
  // The first one stays, untouched.
  auto plugins = registry.Plugins();
  ASSERT_THAT(plugins, SizeIs(1));
  EXPECT_EQ(plugins[0].path, SES_FIXTURE_DUP_A);
}

TEST(DuplicateNameTest, LoadingTheSameFileTwiceIsADuplicate) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_DUP_A).ok());
  EXPECT_THAT(registry.Load(SES_FIXTURE_DUP_A),
              LoadErrorNaming(SES_FIXTURE_DUP_A, "duplicate plugin name 'dup'"));
  EXPECT_THAT(registry.Plugins(), SizeIs(1));
}

TEST(DuplicateNameTest, DirectoryHoldingTwoPluginsOfOneNameFailsToLoad) {
  Registry registry;
  // Files load in name order, so _a is the one already there when _b clashes.
  EXPECT_THAT(registry.LoadDirectory(SES_FIXTURE_DUP_DIR),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(std::string("plugin ") + SES_FIXTURE_DUP_B),
                             HasSubstr("duplicate plugin name 'dup'"),
                             HasSubstr(std::string("already loaded from ") + SES_FIXTURE_DUP_A))));
}

TEST(DuplicateNameTest, SecondKeyProviderForATakenUriSchemeIsRefused) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_RAW).ok());
  // Otherwise which plugin served raw:// keys would depend on load order.
  EXPECT_THAT(registry.Load(SES_FIXTURE_RAW_TWIN),
              LoadErrorNaming(SES_FIXTURE_RAW_TWIN, "URI scheme 'raw' is already served by plugin 'raw'"));
  EXPECT_FALSE(registry.Has("raw-twin"));
  EXPECT_EQ(SchemeOwner(registry, "raw"), "raw");
}

TEST(LoadDirectoryTest, MissingDirectoryIsAnError) {
  TempDir dir;
  std::string missing = (dir.path() / "nowhere").string();
  Registry registry;
  EXPECT_THAT(registry.LoadDirectory(missing),
              StatusIs(StatusCode::kFailedPrecondition, AllOf(HasSubstr(missing), HasSubstr("does not exist"))));
}

TEST(LoadDirectoryTest, OnlyFilesNamedSesStarDotSoAreLoaded) {
  TempDir dir;
  // Neither matches "ses_*.so", so neither is opened; either would fail if it were.
  std::ofstream(dir.path() / "libother.so") << "not a plugin\n";
  std::ofstream(dir.path() / "ses_notes.txt") << "not a plugin\n";
  Registry registry;
  EXPECT_TRUE(registry.LoadDirectory(dir.path()).ok());
  EXPECT_THAT(registry.Plugins(), IsEmpty());
}

TEST(LoadDirectoryTest, BrokenPluginInTheDirectoryFailsTheWholeLoad) {
  TempDir dir;
  std::string garbage = (dir.path() / "ses_garbage.so").string();
  std::ofstream(garbage) << "this is not an ELF file\n";
  Registry registry;
  EXPECT_THAT(registry.LoadDirectory(dir.path()), LoadErrorNaming(garbage, "cannot be loaded"));
}

}  // namespace
}  // namespace ses::loader_test
