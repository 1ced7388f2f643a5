// The pkcs11 plugin through the real engine, on a SoftHSM2 token of the
// test's own: keys made by SES and by pkcs11-tool, every wrapping mechanism,
// PINs from the URI, a file or the environment, keyrings mixing the pkcs11
// and keyfile providers, rotation and ReEncrypt, and the errors of a wrong
// PIN, a missing token, a missing PIN file and a missing key.
//
// These tests load SoftHSM2 into the test process, which reads
// SOFTHSM2_CONF once: each needs a process of its own (ctest does that).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "softhsm_rig.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::RigOptions;
using testing::SoftHsmRig;
using testing::TestEnv;

// Makes the test's token and loads the plugins, or skips/fails the test.
#define START_RIG(...)                              \
  do {                                              \
    Start(__VA_ARGS__);                             \
    if (HasFatalFailure() || IsSkipped()) return;   \
  } while (0)

class Pkcs11EngineTest : public ::testing::Test {
 protected:
  void Start(RigOptions options = {}) {
    ASSERT_TRUE(std::filesystem::exists(testing::kPkcs11Plugin))
        << testing::kPkcs11Plugin << " was not built (plugins/pkcs11 is not in the build)";
    if (!testing::ClaimSoftHsmInProcess()) {
      GTEST_SKIP() << "SoftHSM2 already read another test's SOFTHSM2_CONF in this process; run one test "
                      "per process (ctest does, or use --gtest_filter)";
    }
    rig_.emplace(std::move(options));
    rig_->Activate();
    Status s = registry_.LoadDirectory(SES_TEST_PLUGIN_DIR);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(registry_.Has("pkcs11"));
    key_dir_ = rig_->Join("keys");
    std::filesystem::create_directory(key_dir_);
  }

  StatusOr<std::shared_ptr<KeyProvider>> NewPkcs11(const PluginConfig& config = {}) {
    return registry_.NewKeyProvider("pkcs11", config);
  }

  // The test's shared pkcs11 provider, made with the default config.
  std::shared_ptr<KeyProvider> Pkcs11() {
    if (pkcs11_ == nullptr) {
      auto p = NewPkcs11();
      if (!p.ok()) throw std::runtime_error("pkcs11 provider: " + p.status().ToString());
      pkcs11_ = *p;
    }
    return pkcs11_;
  }

  void CreateKeyfileKey(const std::string& name) {
    auto p = registry_.NewKeyProvider("keyfile", {{"dir", key_dir_}});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto made = (*p)->CreateKey("keyfile://" + name);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
  }

  // An engine over `keyrings`, with the keyfile provider and, unless
  // `pkcs11` is null, that pkcs11 provider.
  std::unique_ptr<Engine> MakeEngine(std::vector<KeyringConfig> keyrings, std::shared_ptr<KeyProvider> pkcs11) {
    EngineOptions o;
    o.keyrings = std::move(keyrings);
    auto cipher = registry_.NewCipher("cipher-openssl", {});
    auto keyfile = registry_.NewKeyProvider("keyfile", {{"dir", key_dir_}});
    if (!cipher.ok() || !keyfile.ok()) throw std::runtime_error("cipher-openssl or keyfile failed to initialise");
    o.cipher = *cipher;
    o.providers.push_back({"keyfile", *keyfile});
    if (pkcs11 != nullptr) o.providers.push_back({"pkcs11", std::move(pkcs11)});
    auto engine = Engine::Create(std::move(o));
    if (!engine.ok()) throw std::runtime_error(engine.status().ToString());
    return std::move(engine).value();
  }
  std::unique_ptr<Engine> MakeEngine(std::vector<KeyringConfig> keyrings) {
    return MakeEngine(std::move(keyrings), Pkcs11());
  }

  // Seals under `keyring` with `enc`, opens with `dec`, checks the bytes.
  static std::vector<uint8_t> ExpectRoundTrip(Engine& enc, Engine& dec, const std::string& keyring, size_t size) {
    SCOPED_TRACE("keyring " + keyring + ", " + std::to_string(size) + " bytes");
    const EncryptionContext ctx{{"tenant", "t1"}, {"purpose", "pkcs11 test"}};
    auto plain = PatternBytes(size, static_cast<uint32_t>(size + 1));
    auto sealed = enc.Encrypt(keyring, ctx, plain);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    if (!sealed.ok()) return {};
    auto opened = dec.Decrypt(*sealed, ctx);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) {
      EXPECT_EQ(*opened, plain);
    }
    return *sealed;
  }

  // The first error on the way to sealing a message under `uri` with
  // `provider`, or OK.
  Status SealError(std::shared_ptr<KeyProvider> provider, const std::string& uri) {
    auto e = MakeEngine({TestEnv::Keyring("k", {uri})}, std::move(provider));
    return e->Encrypt("k", {}, PatternBytes(10)).status();
  }

  // Neither PIN of the rig appears in `s`.
  void ExpectNoPin(const std::string& s) {
    EXPECT_EQ(s.find(rig_->user_pin()), std::string::npos) << s;
    EXPECT_EQ(s.find(rig_->so_pin()), std::string::npos) << s;
  }

  std::optional<SoftHsmRig> rig_;
  Registry registry_;
  std::string key_dir_;
  std::shared_ptr<KeyProvider> pkcs11_;
};

TEST_F(Pkcs11EngineTest, KeyCreatedBySesRoundTrips) {
  START_RIG();
  const std::string uri = rig_->Uri("master");
  auto made = Pkcs11()->CreateKey(uri);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->rfind("pkcs11:", 0), 0u) << *made;
  auto versions = Pkcs11()->ListVersions(uri);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<std::string>{"00000001"});

  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})});  // its own cache: it must unwrap
  for (size_t size : {0, 1, 1000, 200000}) ExpectRoundTrip(*enc, *dec, "hsm", size);
  auto sealed = ExpectRoundTrip(*enc, *dec, "hsm", 100);
  auto h = Engine::Inspect(sealed);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->keys.size(), 1u);
  EXPECT_EQ(h->keys[0].provider, "pkcs11");
  EXPECT_EQ(h->keys[0].key_uri, testing::Identity(uri));  // the PIN source stays out of headers
  EXPECT_EQ(h->keys[0].key_version, "00000001");
}

TEST_F(Pkcs11EngineTest, KeyMadeByPkcs11ToolRoundTrips) {
  START_RIG(RigOptions{.aes_keys = {"ext"}});
  const std::string uri = rig_->Uri("ext");
  auto versions = Pkcs11()->ListVersions(uri);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<std::string>{"01"});
  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  auto sealed = ExpectRoundTrip(*enc, *dec, "hsm", 5000);
  auto h = Engine::Inspect(sealed);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->keys[0].key_version, "01");
}

TEST_F(Pkcs11EngineTest, RsaKeyPairMadeByPkcs11ToolRoundTrips) {
  START_RIG(RigOptions{.rsa_keys = {"rsa"}});
  const std::string uri = rig_->UriWithoutPin("rsa") + ";type=private-key?pin-source=" + rig_->user_pin_file();
  ASSERT_EQ(rig_->printed().back(), uri);
  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  auto sealed = ExpectRoundTrip(*enc, *dec, "hsm", 1000);
  auto h = Engine::Inspect(sealed);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->keys[0].key_version, "01");
  EXPECT_EQ(h->keys[0].wrapped.size(), 257u);  // mechanism tag, one RSA-2048 OAEP block
}

class Pkcs11MechanismTest : public Pkcs11EngineTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Pkcs11MechanismTest, MechanismRoundTrips) {
  START_RIG();
  auto p = NewPkcs11({{"mechanism", GetParam()}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string uri = rig_->Uri("master");
  ASSERT_TRUE((*p)->CreateKey(uri).ok());
  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  auto sealed = ExpectRoundTrip(*enc, *dec, "hsm", 3000);
  auto h = Engine::Inspect(sealed);
  ASSERT_TRUE(h.ok());
  const std::string mech = GetParam();
  if (mech == "aes-key-wrap-pad" || mech == "aes-key-wrap") {
    EXPECT_EQ(h->keys[0].wrapped.size(), 41u);  // mechanism tag, RFC 3394/5649 of a 32-byte key
  }
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, Pkcs11MechanismTest,
                         ::testing::Values("auto", "aes-key-wrap-pad", "aes-key-wrap", "aes-gcm"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST_F(Pkcs11EngineTest, PinFromTheConfigsPinFile) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  auto p = NewPkcs11({{"pin_file", rig_->user_pin_file()}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string uri = rig_->UriWithoutPin("master");
  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  ExpectRoundTrip(*enc, *dec, "hsm", 1000);
}

TEST_F(Pkcs11EngineTest, PinFromAnEnvironmentVariable) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  ::setenv("SES_TEST_HSM_PIN", rig_->user_pin().c_str(), 1);
  auto p = NewPkcs11({{"pin_env", "SES_TEST_HSM_PIN"}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::string uri = rig_->UriWithoutPin("master");
  auto enc = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  auto dec = MakeEngine({TestEnv::Keyring("hsm", {uri})}, *p);
  ExpectRoundTrip(*enc, *dec, "hsm", 1000);
  ::unsetenv("SES_TEST_HSM_PIN");
}

TEST_F(Pkcs11EngineTest, AnyKeyringOfPkcs11AndKeyfileDecryptsWithEitherAlone) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  CreateKeyfileKey("a.key");
  const std::string hsm = rig_->Uri("master"), kf = "keyfile://a.key";
  // Both orders: the first key's provider makes the data key.
  auto both = MakeEngine({TestEnv::Keyring("hsm-first", {hsm, kf}), TestEnv::Keyring("kf-first", {kf, hsm})});
  auto hsm_only = MakeEngine({TestEnv::Keyring("hsm", {hsm})});
  auto kf_only = MakeEngine({TestEnv::Keyring("kf", {kf})}, nullptr);  // no pkcs11 provider at all
  for (const char* keyring : {"hsm-first", "kf-first"}) {
    SCOPED_TRACE(keyring);
    const EncryptionContext ctx{{"app", "any"}};
    const auto plain = PatternBytes(4000);
    auto sealed = both->Encrypt(keyring, ctx, plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    auto h = Engine::Inspect(*sealed);
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->keys.size(), 2u);
    EXPECT_EQ(h->mode, KeyringMode::kAny);
    for (Engine* alone : {hsm_only.get(), kf_only.get()}) {
      auto r = alone->Decrypt(*sealed, ctx);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, plain);
    }
  }
}

TEST_F(Pkcs11EngineTest, AllKeyringOfPkcs11AndKeyfileNeedsBoth) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  CreateKeyfileKey("a.key");
  const std::string hsm = rig_->Uri("master"), kf = "keyfile://a.key";
  auto both = MakeEngine({TestEnv::Keyring("split", {hsm, kf}, KeyringMode::kAll)});
  const auto plain = PatternBytes(4000);
  auto sealed = both->Encrypt("split", {}, plain);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto h = Engine::Inspect(*sealed);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->mode, KeyringMode::kAll);
  ASSERT_EQ(h->keys.size(), 2u);
  EXPECT_EQ(h->keys[0].provider, "pkcs11");
  EXPECT_EQ(h->keys[1].provider, "keyfile");

  auto fresh = MakeEngine({TestEnv::Keyring("split", {hsm, kf}, KeyringMode::kAll)});
  auto r = fresh->Decrypt(*sealed, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, plain);

  struct Alone {
    std::unique_ptr<Engine> engine;
    std::string missing_share;
    std::string missing_uri;
  };
  Alone cases[] = {{MakeEngine({TestEnv::Keyring("hsm", {hsm})}), "share 2 of 2", kf},
                   {MakeEngine({TestEnv::Keyring("kf", {kf})}, nullptr), "share 1 of 2", testing::Identity(hsm)}};
  for (const auto& c : cases) {
    auto missing = c.engine->Decrypt(*sealed, {});
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
    const std::string& m = missing.status().message();
    EXPECT_NE(m.find("keyring mode 'all' needs every share; " + c.missing_share), std::string::npos) << m;
    EXPECT_NE(m.find(c.missing_uri), std::string::npos) << m;
  }
}

TEST_F(Pkcs11EngineTest, RotationOnTheTokenKeepsOldMessagesAndReEncryptMovesThem) {
  START_RIG();
  const std::string uri = rig_->Uri("master");
  ASSERT_TRUE(Pkcs11()->CreateKey(uri).ok());
  auto e = MakeEngine({TestEnv::Keyring("hsm", {uri})});
  const EncryptionContext ctx{{"app", "rotate"}};
  const auto plain = PatternBytes(70000);
  auto old_msg = e->Encrypt("hsm", ctx, plain);
  ASSERT_TRUE(old_msg.ok()) << old_msg.status().ToString();
  EXPECT_EQ(Engine::Inspect(*old_msg)->keys[0].key_version, "00000001");

  auto v = e->RotateKey(uri);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "00000002");
  auto versions = e->ListVersions(uri);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, (std::vector<std::string>{"00000001", "00000002"}));

  auto new_msg = e->Encrypt("hsm", ctx, plain);
  ASSERT_TRUE(new_msg.ok()) << new_msg.status().ToString();
  EXPECT_EQ(Engine::Inspect(*new_msg)->keys[0].key_version, "00000002");

  auto moved = e->ReEncrypt(*old_msg, "hsm");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  auto old_h = Engine::Inspect(*old_msg), moved_h = Engine::Inspect(*moved);
  EXPECT_EQ(moved_h->keys[0].key_version, "00000002");
  EXPECT_EQ(moved_h->message_id, old_h->message_id);

  for (const auto* m : {&*old_msg, &*new_msg, &*moved}) {
    auto fresh = MakeEngine({TestEnv::Keyring("hsm", {uri})});
    auto r = fresh->Decrypt(*m, ctx);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, plain);
  }
}

// sesd may build a new runtime beside the old one (a config reload): two
// provider instances on one module and token, either outliving the other.
TEST_F(Pkcs11EngineTest, TwoProvidersInOneProcessShareTheToken) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->Uri("master");
  std::shared_ptr<KeyProvider> p1, p2;
  {
    auto made1 = NewPkcs11();
    auto made2 = NewPkcs11();
    ASSERT_TRUE(made1.ok() && made2.ok()) << made1.status().ToString() << " / " << made2.status().ToString();
    p1 = *made1;
    p2 = *made2;
  }
  auto e1 = MakeEngine({TestEnv::Keyring("hsm", {uri})}, p1);
  auto e2 = MakeEngine({TestEnv::Keyring("hsm", {uri})}, p2);
  auto sealed = ExpectRoundTrip(*e1, *e2, "hsm", 1000);
  // The first instance goes; the second must not lose its module or login.
  e1.reset();
  p1.reset();
  auto e3 = MakeEngine({TestEnv::Keyring("hsm", {uri})}, p2);
  auto r = e3->Decrypt(sealed, {{"tenant", "t1"}, {"purpose", "pkcs11 test"}});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  ExpectRoundTrip(*e3, *e3, "hsm", 10);
}

TEST_F(Pkcs11EngineTest, WrongPinIsPermissionDeniedAndNeverShown) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string wrong_pin = "wrong-pin-0000";
  testing::WriteFile(rig_->Join("wrong.pin"), wrong_pin);
  ::chmod(rig_->Join("wrong.pin").c_str(), 0600);  // PIN files must be the owner's alone
  Status s = SealError(Pkcs11(), rig_->UriWithoutPin("master") + "?pin-source=" + rig_->Join("wrong.pin"));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("CKR_PIN_INCORRECT"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(wrong_pin), std::string::npos) << s.message();
  ExpectNoPin(s.message());
  // The provider keeps serving with the right PIN.
  EXPECT_TRUE(SealError(Pkcs11(), rig_->Uri("master")).ok());
}

TEST_F(Pkcs11EngineTest, MissingKeyIsNotFound) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  Status s = SealError(Pkcs11(), rig_->Uri("nope"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.message();
  ExpectNoPin(s.message());
  auto versions = Pkcs11()->ListVersions(rig_->Uri("nope"));
  EXPECT_EQ(versions.status().code(), StatusCode::kNotFound) << versions.status().ToString();
  EXPECT_TRUE(SealError(Pkcs11(), rig_->Uri("master")).ok());
}

TEST_F(Pkcs11EngineTest, MissingTokenIsNamed) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  Status s = SealError(Pkcs11(), "pkcs11:token=no-such-token;object=master?pin-source=" + rig_->user_pin_file());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-token"), std::string::npos) << s.message();
  ExpectNoPin(s.message());
  EXPECT_TRUE(SealError(Pkcs11(), rig_->Uri("master")).ok());
}

TEST_F(Pkcs11EngineTest, MissingPinFileIsNamed) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string absent = rig_->Join("absent.pin");
  Status s = SealError(Pkcs11(), rig_->UriWithoutPin("master") + "?pin-source=" + absent);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(absent), std::string::npos) << s.message();
  EXPECT_TRUE(SealError(Pkcs11(), rig_->Uri("master")).ok());
}

}  // namespace
}  // namespace ses
