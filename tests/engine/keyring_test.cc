// Keyrings, master keys and contexts: clear errors for every way the keys or
// the context can be wrong, rotation, and ReEncrypt.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    env_.CreateKey("b.key");
  }
  std::unique_ptr<ses::Engine> Make(std::vector<KeyringConfig> k) { return env_.MakeEngine(std::move(k)); }
  static KeyringConfig Any(const std::string& name, std::vector<std::string> uris) {
    return TestEnv::Keyring(name, std::move(uris));
  }
  static KeyringConfig All(const std::string& name, std::vector<std::string> uris) {
    return TestEnv::Keyring(name, std::move(uris), KeyringMode::kAll);
  }

  TestEnv env_;
  const std::vector<uint8_t> plain_ = PatternBytes(300);
};

TEST_F(KeyringTest, DecryptFailsWithWrongContext) {
  auto e = Make({Any("default", {"keyfile://a.key"})});
  auto sealed = e->Encrypt("default", {{"tenant", "a"}}, plain_);
  ASSERT_TRUE(sealed.ok());
  for (const EncryptionContext& wrong : {EncryptionContext{{"tenant", "b"}}, EncryptionContext{},
                                         EncryptionContext{{"tenant", "a"}, {"extra", "x"}}}) {
    auto r = e->Decrypt(*sealed, wrong);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("encryption context does not match"), std::string::npos);
  }
  EXPECT_TRUE(e->Decrypt(*sealed, {{"tenant", "a"}}).ok());
}

TEST_F(KeyringTest, EncryptRejectsUnknownKeyringAndBadContext) {
  auto e = Make({Any("default", {"keyfile://a.key"})});
  auto r = e->Encrypt("nope", {}, plain_);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "unknown keyring 'nope'");
  EXPECT_EQ(e->Encrypt("default", {{"", "v"}}, plain_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KeyringTest, DecryptNamesTheMasterKeyItDoesNotHave) {
  auto a_only = Make({Any("default", {"keyfile://a.key"})});
  auto b_only = Make({Any("default", {"keyfile://b.key"})});
  auto sealed = a_only->Encrypt("default", {}, plain_);
  ASSERT_TRUE(sealed.ok());
  auto r = b_only->Decrypt(*sealed, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("keyfile://a.key"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not in any configured keyring"), std::string::npos);
}

TEST_F(KeyringTest, DecryptNamesAMissingKeyFile) {
  auto e = Make({Any("default", {"keyfile://a.key"})});
  auto sealed = e->Encrypt("default", {}, plain_);
  ASSERT_TRUE(sealed.ok());
  std::filesystem::remove(env_.dir().Join("a.key"));
  auto fresh = Make({Any("default", {"keyfile://a.key"})});  // no cached data key
  auto r = fresh->Decrypt(*sealed, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(env_.dir().Join("a.key")), std::string::npos) << r.status().message();
}

TEST_F(KeyringTest, AnyKeyringDecryptsWithEitherKeyAlone) {
  auto both = Make({Any("default", {"keyfile://a.key", "keyfile://b.key"})});
  auto sealed = both->Encrypt("default", {}, plain_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Engine::Inspect(*sealed)->keys.size(), 2u);
  for (const char* uri : {"keyfile://a.key", "keyfile://b.key"}) {
    auto one = Make({Any("default", {uri})});
    auto r = one->Decrypt(*sealed, {});
    ASSERT_TRUE(r.ok()) << uri << ": " << r.status().ToString();
    EXPECT_EQ(*r, plain_);
  }
}

TEST_F(KeyringTest, AllKeyringNeedsEveryKey) {
  auto both = Make({All("split", {"keyfile://a.key", "keyfile://b.key"})});
  auto sealed = both->Encrypt("split", {}, plain_);
  ASSERT_TRUE(sealed.ok());
  auto h = Engine::Inspect(*sealed);
  EXPECT_EQ(h->mode, KeyringMode::kAll);
  ASSERT_EQ(h->keys.size(), 2u);

  auto r = both->Decrypt(*sealed, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, plain_);

  auto a_only = Make({Any("default", {"keyfile://a.key"})});
  auto missing = a_only->Decrypt(*sealed, {});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("needs every share"), std::string::npos) << missing.status().message();
  EXPECT_NE(missing.status().message().find("keyfile://b.key"), std::string::npos);
}

// Each share alone is just a random string: an 'all' message must not open
// with one share used as if it were the key.
TEST_F(KeyringTest, AllKeyringSharesAreNotTheKey) {
  auto both = Make({All("split", {"keyfile://a.key", "keyfile://b.key"})});
  auto sealed = both->Encrypt("split", {}, plain_);
  ASSERT_TRUE(sealed.ok());
  auto forged = *sealed;
  forged[11 - 1] = static_cast<uint8_t>(KeyringMode::kAny);  // mode byte after the suite id
  auto r = both->Decrypt(forged, {});
  EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage);
}

TEST_F(KeyringTest, RotationKeepsOldMessagesAndMovesNewOnes) {
  auto e = Make({Any("default", {"keyfile://a.key"})});
  auto old_msg = e->Encrypt("default", {}, plain_);
  ASSERT_TRUE(old_msg.ok());
  EXPECT_EQ(Engine::Inspect(*old_msg)->keys[0].key_version, "1");

  auto v = e->RotateKey("keyfile://a.key");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "2");
  auto versions = e->ListVersions("keyfile://a.key");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::string>{"1", "2"}));

  auto new_msg = e->Encrypt("default", {}, plain_);
  ASSERT_TRUE(new_msg.ok());
  EXPECT_EQ(Engine::Inspect(*new_msg)->keys[0].key_version, "2");
  for (const auto* m : {&*old_msg, &*new_msg}) {
    auto fresh = Make({Any("default", {"keyfile://a.key"})});
    auto r = fresh->Decrypt(*m, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, plain_);
  }
}

TEST_F(KeyringTest, ReEncryptRewritesOnlyTheHeader) {
  auto e = Make({Any("default", {"keyfile://a.key"}), All("split", {"keyfile://a.key", "keyfile://b.key"})});
  const EncryptionContext ctx{{"app", "x"}};
  auto sealed = e->Encrypt("default", ctx, plain_);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(e->RotateKey("keyfile://a.key").ok());

  auto moved = e->ReEncrypt(*sealed, "default");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  auto old_h = Engine::Inspect(*sealed), new_h = Engine::Inspect(*moved);
  EXPECT_EQ(new_h->keys[0].key_version, "2");
  EXPECT_EQ(new_h->message_id, old_h->message_id);
  // The body bytes are exactly the old ones.
  ASSERT_EQ(moved->size() - new_h->header_size, sealed->size() - old_h->header_size);
  EXPECT_TRUE(std::equal(moved->begin() + static_cast<ptrdiff_t>(new_h->header_size), moved->end(),
                         sealed->begin() + static_cast<ptrdiff_t>(old_h->header_size)));
  auto r = e->Decrypt(*moved, ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, plain_);

  // Into a split keyring: now both keys are needed.
  auto split = e->ReEncrypt(*sealed, "split");
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(Engine::Inspect(*split)->mode, KeyringMode::kAll);
  EXPECT_TRUE(e->Decrypt(*split, ctx).ok());
  auto a_only = Make({Any("default", {"keyfile://a.key"})});
  EXPECT_FALSE(a_only->Decrypt(*split, ctx).ok());
}

TEST_F(KeyringTest, ReEncryptRefusesATamperedHeader) {
  auto e = Make({Any("default", {"keyfile://a.key"})});
  auto sealed = e->Encrypt("default", {{"k", "v"}}, plain_);
  ASSERT_TRUE(sealed.ok());
  auto bad = *sealed;
  bad[50] ^= 1;  // inside the context
  EXPECT_EQ(e->ReEncrypt(bad, "default").status().message(), kAuthenticationFailedMessage);
}

TEST_F(KeyringTest, EngineRefusesKeyringsItCannotServe) {
  EngineOptions o;
  auto cipher = env_.registry().NewCipher("cipher-openssl", {});
  ASSERT_TRUE(cipher.ok());
  o.cipher = *cipher;
  o.keyrings = {Any("default", {"pkcs11:token=x;object=y"})};
  auto r = Engine::Create(o);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no key provider is configured for 'pkcs11:'"), std::string::npos);

  o.keyrings = {TestEnv::Keyring("tiny", {"keyfile://a.key"}, KeyringMode::kAny, kSuiteAes256Gcm, 8)};
  EXPECT_EQ(Engine::Create(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ses
