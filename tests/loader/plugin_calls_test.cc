// Calls through the host-side wrappers into fixture plugins: failures in
// create, exceptions inside a plugin, outputs larger than the host's first
// buffer, asking for the wrong kind, and in-process providers next to plugins.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_format.h"
#include "loader_test_util.h"
#include "ses/registry.h"

namespace ses::loader_test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

std::vector<uint8_t> ToVector(const SecretBytes& s) { return {s.data(), s.data() + s.size()}; }

// A registry holding the fake provider plugin.
class FakePluginTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(registry_.Load(SES_FIXTURE_FAKE).ok()); }

  std::shared_ptr<KeyProvider> NewFake() {
    auto made = registry_.NewKeyProvider("fake", {});
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : nullptr;
  }

  Registry registry_;
};

TEST_F(FakePluginTest, FailingCreateLoadsButCannotMakeAnInstance) {
  auto made = registry_.NewKeyProvider("fake", {{"backend", "unreachable"}});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kFailedPrecondition,
                                      AllOf(HasSubstr(SES_FIXTURE_FAKE), HasSubstr("initialisation failed"),
                                            HasSubstr("backend unreachable"))));
}

TEST_F(FakePluginTest, ExceptionInCreateBecomesInternalError) {
  auto made = registry_.NewKeyProvider("fake", {{"backend", "throws"}});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kInternal,
                                      AllOf(HasSubstr(SES_FIXTURE_FAKE), HasSubstr("initialisation failed"),
                                            HasSubstr("backend library threw"))));
}

TEST_F(FakePluginTest, ExceptionInWrapBecomesInternalErrorAndTheProviderStillWorks) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto key = Pattern(32);
  auto thrown = provider->Wrap("fake://throw", key, {});
  EXPECT_THAT(thrown.status(), StatusIs(StatusCode::kInternal, HasSubstr("wrap exploded")));
  // An exception must not leave the instance unusable.
  auto wrapped = provider->Wrap("fake://small", key, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->wrapped, ses_fixture::FakeWrap(key, 0));
}

TEST_F(FakePluginTest, NonStandardExceptionInUnwrapBecomesInternalError) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto r = provider->Unwrap("fake://throw", "1", Pattern(40), {});
  EXPECT_THAT(r.status(), StatusIs(StatusCode::kInternal, HasSubstr("unknown exception")));
}

TEST_F(FakePluginTest, PluginErrorsKeepTheirCodeAndAreNotPrefixedTwice) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto r = provider->Unwrap("fake://small", "9", Pattern(40), {});
  // The plugin already says "fake: "; the host adds it only when missing.
  EXPECT_THAT(r.status(), StatusIs(StatusCode::kNotFound, Eq("fake: no version '9'")));
}

TEST_F(FakePluginTest, WrappedKeyAndVersionLargerThanTheFirstBuffersArriveWhole) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto key = Pattern(32);
  auto wrapped = provider->Wrap("fake://big", key, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  ASSERT_THAT(wrapped->wrapped, SizeIs(ses_fixture::kBigWrappedSize));
  EXPECT_EQ(wrapped->wrapped, ses_fixture::FakeWrap(key, ses_fixture::kBigWrappedSize));
  EXPECT_EQ(wrapped->key_version, ses_fixture::LongVersion());
  EXPECT_THAT(wrapped->key_version, SizeIs(ses_fixture::kLongVersionSize));

  // And back in: the plugin checks every filler byte and the whole version.
  auto unwrapped = provider->Unwrap("fake://big", wrapped->key_version, wrapped->wrapped, {});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToVector(*unwrapped), key);
}

TEST_F(FakePluginTest, DataKeyLargerThanTheFirstBufferRoundTrips) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto key = Pattern(2000);
  auto wrapped = provider->Wrap("fake://small", key, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_THAT(wrapped->wrapped, SizeIs(2 + key.size()));
  auto unwrapped = provider->Unwrap("fake://small", wrapped->key_version, wrapped->wrapped, {});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToVector(*unwrapped), key);
}

TEST_F(FakePluginTest, KeyUriLongerThanTheFirstBufferArrivesWhole) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto uri = provider->CreateKey("fake://k");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(*uri, "fake://k?label=" + std::string(1500, 'k'));
}

// GenerateDataKey has three outputs; the two of unbounded size must grow
// like Wrap's, and the data key must survive the retry.
TEST_F(FakePluginTest, GeneratedDataKeyWithLargeOutputsArrivesWhole) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto generated = provider->GenerateDataKey("fake://big", 32, {});
  ASSERT_TRUE(generated.ok()) << generated.status().ToString();
  EXPECT_THAT(generated->wrapped.wrapped, SizeIs(ses_fixture::kBigWrappedSize));
  EXPECT_EQ(generated->wrapped.key_version, ses_fixture::LongVersion());
  auto expected = ses_fixture::FakeUnwrap(generated->wrapped.wrapped);
  ASSERT_TRUE(expected.has_value());
  EXPECT_THAT(*expected, SizeIs(32));
  EXPECT_EQ(ToVector(generated->data_key), *expected);
}

TEST_F(FakePluginTest, GeneratedDataKeyThatFitsArrivesWhole) {
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  auto generated = provider->GenerateDataKey("fake://small", 32, {});
  ASSERT_TRUE(generated.ok()) << generated.status().ToString();
  auto expected = ses_fixture::FakeUnwrap(generated->wrapped.wrapped);
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(ToVector(generated->data_key), *expected);
  EXPECT_EQ(generated->wrapped.key_version, "1");
}

TEST_F(FakePluginTest, SchemesComeFromThePluginTable) {
  EXPECT_EQ(SchemeOwner(registry_, "fake"), "fake");
  EXPECT_EQ(SchemeOwner(registry_, "fake-alt"), "fake");
  auto provider = NewFake();
  ASSERT_NE(provider, nullptr);
  EXPECT_THAT(provider->UriSchemes(), ElementsAre("fake", "fake-alt"));
}

TEST_F(FakePluginTest, AskingForACipherFromAKeyProviderNamesBothKinds) {
  auto made = registry_.NewCipher("fake", {});
  EXPECT_THAT(made.status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("'fake'"), HasSubstr(SES_FIXTURE_FAKE), HasSubstr("is a key-provider"),
                             HasSubstr("not a cipher"))));
}

TEST_F(FakePluginTest, UnknownPluginNameIsNotFound) {
  auto made = registry_.NewKeyProvider("nonexistent", {});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kNotFound, HasSubstr("'nonexistent'")));
}

TEST(PluginCallsTest, PluginErrorWithoutAMessageGetsOneNamingThePlugin) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_RAW).ok());
  auto provider = registry.NewKeyProvider("raw", {});
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  auto r = (*provider)->Wrap("raw://k", Pattern(32), {});
  EXPECT_THAT(r.status(),
              StatusIs(StatusCode::kUnimplemented, Eq("raw: plugin returned an error without a message")));
}

// An in-process provider: wraps by reversing, which is enough to tell that
// calls reach it.
class ReversingProvider final : public KeyProvider {
 public:
  std::vector<std::string> UriSchemes() const override { return {"rev"}; }
  StatusOr<WrappedKey> Wrap(std::string_view, std::span<const uint8_t> data_key,
                            std::span<const uint8_t>) override {
    return WrappedKey{{data_key.rbegin(), data_key.rend()}, "1"};
  }
  StatusOr<SecretBytes> Unwrap(std::string_view, std::string_view, std::span<const uint8_t> wrapped,
                               std::span<const uint8_t>) override {
    std::vector<uint8_t> key(wrapped.rbegin(), wrapped.rend());
    return SecretBytes(std::span<const uint8_t>(key));
  }
};

StatusOr<std::shared_ptr<KeyProvider>> NewReversing(const PluginConfig& config) {
  if (config.count("fail") != 0) return FailedPreconditionError("reversing: asked to fail");
  return std::shared_ptr<KeyProvider>(std::make_shared<ReversingProvider>());
}

TEST(AddKeyProviderTest, InProcessProviderIsServedLikeAPlugin) {
  Registry registry;
  ASSERT_TRUE(registry.AddKeyProvider("reversing", "rev,rev2", &NewReversing).ok());
  EXPECT_TRUE(registry.Has("reversing"));
  EXPECT_EQ(SchemeOwner(registry, "rev2"), "reversing");

  auto plugins = registry.Plugins();
  ASSERT_THAT(plugins, SizeIs(1));
  EXPECT_EQ(plugins[0].kind, PluginKind::kKeyProvider);
  EXPECT_EQ(plugins[0].path, "(built-in)");
  EXPECT_EQ(plugins[0].uri_schemes, "rev,rev2");

  auto provider = registry.NewKeyProvider("reversing", {});
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  auto wrapped = (*provider)->Wrap("rev:k", std::vector<uint8_t>{1, 2, 3}, {});
  ASSERT_TRUE(wrapped.ok());
  EXPECT_THAT(wrapped->wrapped, ElementsAre(3, 2, 1));
}

TEST(AddKeyProviderTest, ConfigReachesTheFactoryAndItsErrorComesBack) {
  Registry registry;
  ASSERT_TRUE(registry.AddKeyProvider("reversing", "rev", &NewReversing).ok());
  auto made = registry.NewKeyProvider("reversing", {{"fail", "yes"}});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kFailedPrecondition, HasSubstr("asked to fail")));
}

TEST(AddKeyProviderTest, AddingTheSameNameTwiceIsRefused) {
  Registry registry;
  ASSERT_TRUE(registry.AddKeyProvider("reversing", "rev", &NewReversing).ok());
  EXPECT_THAT(registry.AddKeyProvider("reversing", "other", &NewReversing),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("duplicate plugin name 'reversing'")));
  EXPECT_THAT(registry.Plugins(), SizeIs(1));
  // The first registration's schemes stand.
  EXPECT_FALSE(registry.KeyProviderForScheme("other").ok());
}

TEST(AddKeyProviderTest, InProcessNameTakenByALoadedPluginIsRefused) {
  Registry registry;
  ASSERT_TRUE(registry.Load(SES_FIXTURE_FAKE).ok());
  EXPECT_THAT(registry.AddKeyProvider("fake", "rev", &NewReversing),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("duplicate plugin name 'fake'")));
}

TEST(AddKeyProviderTest, PluginNameTakenByAnInProcessProviderIsRefused) {
  Registry registry;
  ASSERT_TRUE(registry.AddKeyProvider("fake", "rev", &NewReversing).ok());
  EXPECT_THAT(registry.Load(SES_FIXTURE_FAKE),
              LoadErrorNaming(SES_FIXTURE_FAKE, "duplicate plugin name 'fake' (already loaded from (built-in))"));
}

TEST(AddKeyProviderTest, MissingFactoryOrBadNameIsRefused) {
  Registry registry;
  EXPECT_THAT(registry.AddKeyProvider("nofactory", "nf", nullptr),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("has no factory")));
  EXPECT_EQ(registry.AddKeyProvider("", "x", &NewReversing).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.Plugins(), SizeIs(0));
}

TEST(AddKeyProviderTest, TakenUriSchemeIsRefused) {
  Registry registry;
  ASSERT_TRUE(registry.AddKeyProvider("reversing", "rev", &NewReversing).ok());
  EXPECT_THAT(registry.AddKeyProvider("second", "x,rev", &NewReversing),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("URI scheme 'rev' is already served by plugin 'reversing'")));
  EXPECT_EQ(SchemeOwner(registry, "rev"), "reversing");
}

}  // namespace
}  // namespace ses::loader_test
