// OpenRuntime and OpenStore over the real plugins: errors a plugin raises
// about a key point at where that key was set, file line or variable.
#include <gtest/gtest.h>

#include "config_fixture.h"

namespace ses::testing {
namespace {

using OpenFromConfigTest = ConfigTest;

std::string Base() {
  return std::string("[plugins]\ndir = ") + SES_TEST_PLUGIN_DIR + "\n[provider.keyfile]\n";
}

TEST_F(OpenFromConfigTest, APluginErrorAboutAnOverriddenKeyNamesTheVariable) {
  auto c = Load(Base() + "[keyring.main]\nkey = keyfile://a.key\n", {{"SES_PROVIDER_KEYFILE__BOGUS", "1"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto rt = OpenRuntime(*c);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().message().rfind("environment SES_PROVIDER_KEYFILE__BOGUS: [provider.keyfile]: ", 0), 0u)
      << rt.status().message();
  EXPECT_NE(rt.status().message().find("'bogus'"), std::string::npos);
}

TEST_F(OpenFromConfigTest, APluginErrorAboutAFileKeyNamesTheLine) {
  auto c = Load(Base() + "bogus = 1\n[keyring.main]\nkey = keyfile://a.key\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto rt = OpenRuntime(*c);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().message().rfind(path() + ":4: [provider.keyfile]: ", 0), 0u) << rt.status().message();
}

TEST_F(OpenFromConfigTest, AnOverrideReachesTheEngine) {
  TestEnv env;
  env.CreateKey("a.key");
  auto c = Load(Base() + "dir = /nonexistent\n[keyring.main]\nkey = keyfile://a.key\n",
                {{"SES_PROVIDER_KEYFILE__DIR", env.dir().path().string()}, {"SES_KEYRING_MAIN__FRAME_SIZE", "1024"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto rt = OpenRuntime(*c);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  ASSERT_EQ(rt->engine->keyrings().size(), 1u);
  EXPECT_EQ(rt->engine->keyrings()[0].frame_size, 1024u);
}

TEST_F(OpenFromConfigTest, OpenStoreNamesTheStoreSection) {
  auto c = Load("# store\n[store]\nplugin = store-none\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Registry empty;
  auto s = OpenStore(*c, empty);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().rfind(path() + ":2: [store]: ", 0), 0u) << s.status().message();

  auto absent = Load("");
  ASSERT_TRUE(absent.ok());
  auto t = OpenStore(*absent, empty);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message().rfind(path() + ": [store]: ", 0), 0u) << t.status().message();
}

}  // namespace
}  // namespace ses::testing
