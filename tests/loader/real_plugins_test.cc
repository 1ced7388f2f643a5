// The real keyfile and cipher-openssl plugins, loaded from the build tree the
// way sesctl and the daemon find them, and the rule that host-side objects
// keep their library loaded after the Registry that loaded it is gone.
#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader_test_util.h"
#include "ses/registry.h"

namespace ses::loader_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kKeyfilePath = (std::filesystem::path(SES_TEST_PLUGIN_DIR) / "ses_keyfile.so").string();
const std::string kCipherPath =
    (std::filesystem::path(SES_TEST_PLUGIN_DIR) / "ses_cipher-openssl.so").string();

std::optional<PluginDescriptor> Describe(const Registry& registry, const std::string& name) {
  for (auto& d : registry.Plugins()) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

// True while `path` is mapped into this process. RTLD_NOLOAD never loads; it
// only finds, and takes a reference that is dropped again at once.
bool IsLoaded(const std::string& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 13 + 5);
  return v;
}

TEST(RealPluginsTest, LoadDirectoryFindsKeyfileAndCipherOpenssl) {
  Registry registry;
  ASSERT_TRUE(registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok());

  auto keyfile = Describe(registry, "keyfile");
  ASSERT_TRUE(keyfile.has_value());
  EXPECT_EQ(keyfile->kind, PluginKind::kKeyProvider);
  EXPECT_EQ(keyfile->version, "0.1.0");
  EXPECT_EQ(keyfile->abi_major, 1);
  EXPECT_EQ(keyfile->abi_minor, 0);
  EXPECT_EQ(keyfile->path, kKeyfilePath);
  EXPECT_EQ(keyfile->uri_schemes, "keyfile");

  auto cipher = Describe(registry, "cipher-openssl");
  ASSERT_TRUE(cipher.has_value());
  EXPECT_EQ(cipher->kind, PluginKind::kCipher);
  EXPECT_EQ(cipher->version, "0.1.0");
  EXPECT_EQ(cipher->abi_major, 1);
  EXPECT_EQ(cipher->abi_minor, 0);
  EXPECT_EQ(cipher->path, kCipherPath);
  EXPECT_EQ(cipher->uri_schemes, "");
}

TEST(RealPluginsTest, KeyfileSchemeIsServedByKeyfileAndAnUnknownOneByNobody) {
  Registry registry;
  ASSERT_TRUE(registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok());
  EXPECT_EQ(SchemeOwner(registry, "keyfile"), "keyfile");
  EXPECT_THAT(registry.KeyProviderForScheme("no-such-kms").status(),
              StatusIs(StatusCode::kNotFound, HasSubstr("'no-such-kms:'")));
  // Plugin names are not schemes: the cipher serves no URIs.
  EXPECT_THAT(registry.KeyProviderForScheme("cipher-openssl").status(),
              StatusIs(StatusCode::kNotFound, HasSubstr("cipher-openssl")));
}

TEST(RealPluginsTest, AskingForAKeyProviderFromTheCipherPluginNamesBothKinds) {
  Registry registry;
  ASSERT_TRUE(registry.Load(kCipherPath).ok());
  auto made = registry.NewKeyProvider("cipher-openssl", {});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kFailedPrecondition,
                                      AllOf(HasSubstr(kCipherPath), HasSubstr("is a cipher"),
                                            HasSubstr("not a key-provider"))));
}

TEST(RealPluginsTest, CipherSuitesCrossTheAbiIntact) {
  Registry registry;
  ASSERT_TRUE(registry.Load(kCipherPath).ok());
  auto cipher = registry.NewCipher("cipher-openssl", {});
  ASSERT_TRUE(cipher.ok()) << cipher.status().ToString();
  auto suites = (*cipher)->Suites();
  ASSERT_EQ(suites.size(), 3u);
  EXPECT_EQ(suites[0].id, 0x0001);
  EXPECT_EQ(suites[0].name, "aes-256-gcm");
  EXPECT_EQ(suites[2].id, 0x0003);
  EXPECT_EQ(suites[2].name, "aes-256-gcm+chacha20-poly1305");
  EXPECT_EQ(suites[2].key_len, 64u);
  EXPECT_EQ(suites[2].tag_len, 32u);
}

// The host refuses suites the plugin does not list before asking it (the
// listed tag length sizes every Seal buffer).
TEST(RealPluginsTest, UnknownSuiteIsNotFound) {
  Registry registry;
  ASSERT_TRUE(registry.Load(kCipherPath).ok());
  auto cipher = registry.NewCipher("cipher-openssl", {});
  ASSERT_TRUE(cipher.ok()) << cipher.status().ToString();
  EXPECT_THAT((*cipher)->NewAead(0x0099).status(),
              StatusIs(StatusCode::kNotFound, HasSubstr("does not provide suite 0x0099")));
}

TEST(RealPluginsTest, PluginConfigErrorsNameThePluginFile) {
  Registry registry;
  ASSERT_TRUE(registry.Load(kKeyfilePath).ok());
  auto made = registry.NewKeyProvider("keyfile", {{"colour", "blue"}});
  EXPECT_THAT(made.status(), StatusIs(StatusCode::kInvalidArgument,
                                      AllOf(HasSubstr(kKeyfilePath), HasSubstr("initialisation failed"),
                                            HasSubstr("colour"))));
}

// The Boost.DLL rule: a library stays mapped while any object made from it
// lives. If the Registry took it down with itself, the calls below would jump
// into unmapped code.
TEST(LifetimeTest, KeyProviderOutlivesTheRegistryThatLoadedIt) {
  TempDir dir;
  std::shared_ptr<KeyProvider> provider;
  {
    Registry registry;
    ASSERT_TRUE(registry.Load(kKeyfilePath).ok());
    auto made = registry.NewKeyProvider("keyfile", {{"dir", dir.path().string()}});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    provider = *made;
  }
  ASSERT_TRUE(IsLoaded(kKeyfilePath));

  auto uri = provider->CreateKey("keyfile://master");
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "master"));
  auto key = Pattern(32);
  auto wrapped = provider->Wrap(*uri, key, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_NE(wrapped->wrapped, key);
  auto unwrapped = provider->Unwrap(*uri, wrapped->key_version, wrapped->wrapped, {});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(std::vector<uint8_t>(unwrapped->data(), unwrapped->data() + unwrapped->size()), key);
}

TEST(LifetimeTest, AeadContextOutlivesTheRegistryAndItsCipherProvider) {
  std::unique_ptr<AeadContext> aead;
  {
    Registry registry;
    ASSERT_TRUE(registry.Load(kCipherPath).ok());
    auto cipher = registry.NewCipher("cipher-openssl", {});
    ASSERT_TRUE(cipher.ok()) << cipher.status().ToString();
    auto made = (*cipher)->NewAead(0x0001);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    aead = std::move(made).value();
  }
  ASSERT_TRUE(IsLoaded(kCipherPath));

  ASSERT_EQ(aead->TagLength(), 16u);
  ASSERT_TRUE(aead->SetKey(Pattern(32)).ok());
  AeadNonce nonce{};
  nonce[0] = 1;
  auto plaintext = Pattern(100);
  std::vector<uint8_t> aad = {'c', 't', 'x'};
  std::vector<uint8_t> sealed(plaintext.size() + aead->TagLength());
  ASSERT_TRUE(aead->Seal(nonce, aad, plaintext, sealed).ok());
  std::vector<uint8_t> opened(sealed.size());
  ASSERT_TRUE(aead->Open(nonce, aad, sealed, opened).ok());
  EXPECT_TRUE(std::equal(plaintext.begin(), plaintext.end(), opened.begin()));

  // Still a real AEAD, not a pass-through: a flipped bit is caught.
  sealed[5] ^= 1;
  EXPECT_THAT(aead->Open(nonce, aad, sealed, opened),
              StatusIs(StatusCode::kInvalidArgument, ::testing::Eq("authentication failed")));
}

}  // namespace
}  // namespace ses::loader_test
