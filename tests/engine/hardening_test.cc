// Hardening found in review: rotation racing a new data key, hostile
// headers that repeat a master key or hide a NUL, attacker text in errors,
// and cipher plugins that misdeclare a suite.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

// Wraps another provider; Wrap blocks while `hold` is set, so a test can
// rotate the master key while a data key is being made.
class GatedProvider final : public KeyProvider {
 public:
  explicit GatedProvider(std::shared_ptr<KeyProvider> inner) : inner_(std::move(inner)) {}
  std::vector<std::string> UriSchemes() const override { return inner_->UriSchemes(); }
  StatusOr<WrappedKey> Wrap(std::string_view uri, std::span<const uint8_t> key, std::span<const uint8_t> aad) override {
    auto r = inner_->Wrap(uri, key, aad);
    std::unique_lock<std::mutex> lock(mu_);
    in_wrap_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    return r;
  }
  StatusOr<SecretBytes> Unwrap(std::string_view uri, std::string_view v, std::span<const uint8_t> w,
                               std::span<const uint8_t> aad) override {
    return inner_->Unwrap(uri, v, w, aad);
  }
  StatusOr<std::string> RotateKey(std::string_view uri) override { return inner_->RotateKey(uri); }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
    in_wrap_ = false;
  }
  void WaitInWrap() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_wrap_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }

 private:
  std::shared_ptr<KeyProvider> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool in_wrap_ = false;
};

TEST(HardeningTest, RotationDuringDataKeyCreationWins) {
  TestEnv env;
  env.CreateKey("a.key");
  auto keyfile = env.registry().NewKeyProvider("keyfile", {{"dir", env.dir().path().string()}});
  ASSERT_TRUE(keyfile.ok());
  auto gated = std::make_shared<GatedProvider>(*keyfile);
  EngineOptions o;
  o.cipher = *env.registry().NewCipher("cipher-openssl", {});
  o.providers.push_back({"keyfile", gated});
  o.keyrings = {TestEnv::Keyring("default", {"keyfile://a.key"})};
  auto engine = std::move(Engine::Create(o)).value();

  gated->Hold();
  std::thread racer([&] { EXPECT_TRUE(engine->Encrypt("default", {}, PatternBytes(10)).ok()); });
  gated->WaitInWrap();  // a data key wrapped under version 1 is being made
  ASSERT_EQ(engine->RotateKey("keyfile://a.key").value(), "2");
  gated->Release();
  racer.join();

  for (int i = 0; i < 3; ++i) {
    auto m = engine->Encrypt("default", {}, PatternBytes(10));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(Engine::Inspect(*m)->keys[0].key_version, "2") << "message " << i;
  }
}

class HostileHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    engine_ = env_.MakeEngine({TestEnv::Keyring("default", {"keyfile://a.key"})});
  }
  TestEnv env_;
  std::unique_ptr<Engine> engine_;
};

// A header that names one master key twice is refused before any provider
// call, so a forged header cannot multiply KMS round trips.
TEST_F(HostileHeaderTest, RepeatedMasterKeyIsRefused) {
  auto sealed = engine_->Encrypt("default", {}, PatternBytes(10));
  ASSERT_TRUE(sealed.ok());
  HeaderInfo h = *Engine::Inspect(*sealed);
  ASSERT_EQ(h.keys.size(), 1u);
  // Rebuild the header bytes with the entry duplicated: count byte and entry.
  std::vector<uint8_t> bytes(sealed->begin(), sealed->begin() + static_cast<ptrdiff_t>(h.header_size));
  size_t count_at = 8 + 2 + 1 + 32 + 4 + 2;
  const auto& k = h.keys[0];
  size_t entry_len = 1 + k.provider.size() + 2 + k.key_uri.size() + 1 + k.key_version.size() + 2 + k.wrapped.size();
  std::vector<uint8_t> entry(bytes.begin() + static_cast<ptrdiff_t>(count_at + 1),
                             bytes.begin() + static_cast<ptrdiff_t>(count_at + 1 + entry_len));
  bytes[count_at] = 2;
  bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(count_at + 1), entry.begin(), entry.end());
  uint32_t size = static_cast<uint32_t>(bytes.size());
  for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  bytes.insert(bytes.end(), sealed->begin() + static_cast<ptrdiff_t>(h.header_size), sealed->end());
  EXPECT_FALSE(Engine::Inspect(bytes).ok());
  EXPECT_EQ(engine_->Decrypt(bytes, {}).status().message(), kAuthenticationFailedMessage);
}

TEST_F(HostileHeaderTest, NulInsideAKeyUriIsRefused) {
  auto sealed = engine_->Encrypt("default", {}, PatternBytes(10));
  ASSERT_TRUE(sealed.ok());
  auto bad = *sealed;
  size_t uri_at = 8 + 2 + 1 + 32 + 4 + 2 + 1 + 1 + std::string("keyfile").size() + 2;
  ASSERT_EQ(bad[uri_at], 'k');
  bad[uri_at + 3] = 0;
  EXPECT_EQ(engine_->Decrypt(bad, {}).status().message(), kAuthenticationFailedMessage);
}

TEST_F(HostileHeaderTest, UntrustedUriIsEscapedInErrors) {
  TestEnv other;
  other.CreateKey("evil\nlevel=info.key");
  auto foreign = other.MakeEngine({TestEnv::Keyring("default", {"keyfile://evil\nlevel=info.key"})});
  auto sealed = foreign->Encrypt("default", {}, PatternBytes(10));
  ASSERT_TRUE(sealed.ok());
  auto r = engine_->Decrypt(*sealed, {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("evil\\x0alevel=info.key"), std::string::npos) << r.status().message();
}

class ShortTagCipher final : public CipherProvider {
 public:
  std::vector<SuiteInfo> Suites() const override { return {{kSuiteAes256Gcm, "aes-256-gcm", 32, 4}}; }
  StatusOr<std::unique_ptr<AeadContext>> NewAead(uint16_t) override { return UnimplementedError("unused"); }
};

TEST(HardeningTest, CipherDeclaringAShortTagIsRefused) {
  EngineOptions o;
  o.cipher = std::make_shared<ShortTagCipher>();
  auto r = Engine::Create(o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("tag length 4"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace ses

namespace ses {
namespace {

// Passes URIs on to keyfile without their query, and records what it got.
class QueryTolerantProvider final : public KeyProvider {
 public:
  explicit QueryTolerantProvider(std::shared_ptr<KeyProvider> inner) : inner_(std::move(inner)) {}
  std::vector<std::string> UriSchemes() const override { return inner_->UriSchemes(); }
  StatusOr<WrappedKey> Wrap(std::string_view uri, std::span<const uint8_t> key, std::span<const uint8_t> aad) override {
    seen.emplace_back(uri);
    return inner_->Wrap(uri.substr(0, uri.find('?')), key, aad);
  }
  StatusOr<SecretBytes> Unwrap(std::string_view uri, std::string_view v, std::span<const uint8_t> w,
                               std::span<const uint8_t> aad) override {
    seen.emplace_back(uri);
    return inner_->Unwrap(uri.substr(0, uri.find('?')), v, w, aad);
  }
  std::vector<std::string> seen;

 private:
  std::shared_ptr<KeyProvider> inner_;
};

// Access parameters in a key URI's query (a PIN, a module path) reach the
// provider but never a header: headers name the key by its identity.
TEST(HardeningTest, KeyUriQueryNeverReachesTheHeader) {
  TestEnv env;
  env.CreateKey("a.key");
  auto keyfile = env.registry().NewKeyProvider("keyfile", {{"dir", env.dir().path().string()}});
  ASSERT_TRUE(keyfile.ok());
  auto make = [&](const std::string& uri, std::shared_ptr<QueryTolerantProvider>& provider) {
    provider = std::make_shared<QueryTolerantProvider>(*keyfile);
    EngineOptions o;
    o.cipher = *env.registry().NewCipher("cipher-openssl", {});
    o.providers.push_back({"keyfile", provider});
    o.keyrings = {TestEnv::Keyring("default", {uri})};
    return std::move(Engine::Create(o)).value();
  };
  std::shared_ptr<QueryTolerantProvider> p1, p2;
  auto writer = make("keyfile://a.key?pin-value=123456", p1);
  auto sealed = writer->Encrypt("default", {}, PatternBytes(10));
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(Engine::Inspect(*sealed)->keys[0].key_uri, "keyfile://a.key");
  std::string bytes(sealed->begin(), sealed->end());
  EXPECT_EQ(bytes.find("123456"), std::string::npos);
  EXPECT_EQ(p1->seen.at(0), "keyfile://a.key?pin-value=123456");

  // A reader that reaches the same key another way still opens it.
  auto reader = make("keyfile://a.key?pin-source=/elsewhere", p2);
  auto opened = reader->Decrypt(*sealed, {});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(p2->seen.at(0), "keyfile://a.key?pin-source=/elsewhere");
}

}  // namespace
}  // namespace ses
