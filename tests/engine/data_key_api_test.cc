// Data keys for local encryption: Engine::GenerateDataKey and DecryptDataKey,
// and LocalEnvelope, whose messages the engine opens and whose key checks
// refuse every wrong or damaged input.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "ses/local_envelope.h"
#include "test_env.h"

namespace ses {
namespace {

using testing::PatternBytes;
using testing::TestEnv;

constexpr uint32_t kFrame = 64;
constexpr size_t kIdOffset = 11;  // docs/format.md §3.1
constexpr size_t kIdSize = 32;

std::shared_ptr<CipherProvider> Cipher(TestEnv& env) {
  auto c = env.registry().NewCipher("cipher-openssl", {});
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  return *c;
}

std::vector<uint8_t> HeaderOf(const std::vector<uint8_t>& msg) {
  auto size = Engine::HeaderSize(msg);
  if (!size.ok()) return {};
  return {msg.begin(), msg.begin() + static_cast<ptrdiff_t>(*size)};
}

std::vector<std::vector<uint8_t>> WrappedOf(std::span<const uint8_t> header) {
  std::vector<std::vector<uint8_t>> out;
  auto h = Engine::Inspect(header);
  if (h.ok()) {
    for (const auto& k : h->keys) out.push_back(k.wrapped);
  }
  return out;
}

// Every suite in both keyring modes, over two master keys.
class DataKeyRoundTripTest : public ::testing::TestWithParam<std::tuple<uint16_t, KeyringMode>> {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    env_.CreateKey("b.key");
    keyrings_ = {TestEnv::Keyring("r", {"keyfile://a.key", "keyfile://b.key"}, std::get<1>(GetParam()),
                                  std::get<0>(GetParam()), kFrame)};
    engine_ = env_.MakeEngine(keyrings_);
    cipher_ = Cipher(env_);
  }

  TestEnv env_;
  std::vector<KeyringConfig> keyrings_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<CipherProvider> cipher_;
  const EncryptionContext ctx_{{"tenant", "t1"}, {"purpose", "local"}};
};

TEST_P(DataKeyRoundTripTest, LocalMessagesOpenWithEngineDecrypt) {
  auto grant = engine_->GenerateDataKey("r", ctx_);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(grant->data_key.size(), 32u);
  const std::vector<uint8_t> encrypted_key = grant->encrypted_key;
  auto local = LocalEnvelope::Create(cipher_, std::move(grant->data_key), encrypted_key);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ((*local)->info().suite_id, std::get<0>(GetParam()));
  EXPECT_EQ((*local)->info().mode, std::get<1>(GetParam()));
  EXPECT_EQ((*local)->info().context, ctx_);
  EXPECT_EQ((*local)->info().keys.size(), 2u);
  EXPECT_EQ((*local)->info().message_id, (std::array<uint8_t, 32>{}));

  // A server that never saw the grant: nothing cached, keys unwrapped afresh.
  auto other_server = env_.MakeEngine(keyrings_);
  for (size_t size : {size_t{0}, size_t{1}, size_t{kFrame - 1}, size_t{kFrame}, size_t{kFrame + 1},
                      size_t{5 * kFrame + 7}, size_t{6 * kFrame}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    auto plain = PatternBytes(size, static_cast<uint32_t>(size) + 3);
    auto sealed = (*local)->Encrypt(plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    // The standard format: the template with a fresh id in its place.
    auto h = Engine::Inspect(*sealed);
    ASSERT_TRUE(h.ok());
    EXPECT_NE(h->message_id, (std::array<uint8_t, 32>{}));
    auto header = HeaderOf(*sealed);
    ASSERT_EQ(header.size(), encrypted_key.size());
    EXPECT_TRUE(std::equal(header.begin(), header.begin() + kIdOffset, encrypted_key.begin()));
    EXPECT_TRUE(std::equal(header.begin() + kIdOffset + kIdSize, header.end(),
                           encrypted_key.begin() + kIdOffset + kIdSize));

    for (Engine* e : {engine_.get(), other_server.get()}) {
      auto opened = e->Decrypt(*sealed, ctx_);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      EXPECT_EQ(*opened, plain);
    }
    auto local_opened = (*local)->Decrypt(*sealed);
    ASSERT_TRUE(local_opened.ok()) << local_opened.status().ToString();
    EXPECT_EQ(*local_opened, plain);
  }
}

TEST_P(DataKeyRoundTripTest, EngineMessagesOpenLocallyThroughDecryptDataKey) {
  for (size_t size : {size_t{0}, size_t{kFrame}, size_t{3 * kFrame + 1}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    auto plain = PatternBytes(size, 9);
    auto sealed = engine_->Encrypt("r", ctx_, plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    const auto header = HeaderOf(*sealed);

    // From the header alone, and from the whole message (body ignored).
    for (const auto& encrypted_key : {header, *sealed}) {
      auto fresh = env_.MakeEngine(keyrings_);
      auto dk = fresh->DecryptDataKey(encrypted_key, ctx_);
      ASSERT_TRUE(dk.ok()) << dk.status().ToString();
      auto local = LocalEnvelope::Create(cipher_, std::move(dk).value(), encrypted_key);
      ASSERT_TRUE(local.ok()) << local.status().ToString();
      auto opened = (*local)->Decrypt(*sealed);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      EXPECT_EQ(*opened, plain);
      // And it seals under the same key, for the engine to open.
      auto again = (*local)->Encrypt(plain);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(WrappedOf(HeaderOf(*again)), WrappedOf(header));
      auto reopened = engine_->Decrypt(*again, ctx_);
      ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
      EXPECT_EQ(*reopened, plain);
    }
  }
}

TEST_P(DataKeyRoundTripTest, DecryptDataKeyReturnsTheGrantedKey) {
  auto grant = engine_->GenerateDataKey("r", ctx_);
  ASSERT_TRUE(grant.ok());
  auto fresh = env_.MakeEngine(keyrings_);
  auto dk = fresh->DecryptDataKey(grant->encrypted_key, ctx_);
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_TRUE(*dk == grant->data_key);
  // Served again from the decrypt cache: still the same key.
  auto cached = fresh->DecryptDataKey(grant->encrypted_key, ctx_);
  ASSERT_TRUE(cached.ok());
  EXPECT_TRUE(*cached == grant->data_key);
  EXPECT_EQ(fresh->cache_stats().misses, 1u);
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<uint16_t, KeyringMode>>& info) {
  std::string suite(SuiteName(std::get<0>(info.param)));
  std::string name;
  for (char c : suite) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name + (std::get<1>(info.param) == KeyringMode::kAny ? "_any" : "_all");
}

INSTANTIATE_TEST_SUITE_P(SuitesAndModes, DataKeyRoundTripTest,
                         ::testing::Combine(::testing::Values(kSuiteAes256Gcm, kSuiteChaCha20Poly1305,
                                                              kSuiteAesGcmChaChaCascade),
                                            ::testing::Values(KeyringMode::kAny, KeyringMode::kAll)),
                         ParamName);

class DataKeyApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.CreateKey("a.key");
    env_.CreateKey("b.key");
    engine_ = env_.MakeEngine({TestEnv::Keyring("a", {"keyfile://a.key"}, KeyringMode::kAny, kSuiteAes256Gcm, kFrame),
                               TestEnv::Keyring("b", {"keyfile://b.key"}, KeyringMode::kAny, kSuiteAes256Gcm, kFrame)});
    cipher_ = Cipher(env_);
    auto grant = engine_->GenerateDataKey("a", ctx_);
    ASSERT_TRUE(grant.ok()) << grant.status().ToString();
    grant_ = std::move(grant).value();
    auto h = Engine::Inspect(grant_.encrypted_key);
    ASSERT_TRUE(h.ok());
    template_ = *h;
  }

  std::unique_ptr<LocalEnvelope> Local(const DataKeyGrant& g) {
    auto local = LocalEnvelope::Create(cipher_, g.data_key.Clone(), g.encrypted_key);
    if (!local.ok()) throw std::runtime_error(local.status().ToString());
    return std::move(local).value();
  }

  // Byte positions of the encrypted key that name a master key (provider,
  // URI, version and their lengths): a flip there may be reported as a key
  // this engine does not have.
  std::set<size_t> KeyIdentityPositions() const {
    size_t pos = 8 + 2 + 1 + 32 + 4 + 2;
    for (const auto& [k, v] : template_.context) pos += 4 + k.size() + v.size();
    pos += 1;  // key count
    std::set<size_t> out;
    for (const auto& k : template_.keys) {
      for (size_t i = 0; i < 1 + k.provider.size(); ++i) out.insert(pos++);
      for (size_t i = 0; i < 2 + k.key_uri.size(); ++i) out.insert(pos++);
      for (size_t i = 0; i < 1 + k.key_version.size(); ++i) out.insert(pos++);
      pos += 2 + k.wrapped.size();
    }
    return out;
  }

  const EncryptionContext ctx_{{"tenant", "t1"}};
  TestEnv env_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<CipherProvider> cipher_;
  DataKeyGrant grant_;
  HeaderInfo template_;
};

TEST_F(DataKeyApiTest, GenerateDataKeyRefusesUnknownKeyringAndBadContext) {
  auto r = engine_->GenerateDataKey("nope", ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "unknown keyring 'nope'");
  EXPECT_EQ(engine_->GenerateDataKey("a", {{"", "v"}}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DataKeyApiTest, TwoGrantsHaveDifferentKeys) {
  auto other = engine_->GenerateDataKey("a", ctx_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->data_key == grant_.data_key);
  EXPECT_NE(WrappedOf(other->encrypted_key), WrappedOf(grant_.encrypted_key));
  EXPECT_NE(other->encrypted_key, grant_.encrypted_key);
}

TEST_F(DataKeyApiTest, GrantsBypassTheEncryptCache) {
  auto first = engine_->Encrypt("a", ctx_, PatternBytes(10));
  ASSERT_TRUE(first.ok());
  const CacheStats before = engine_->cache_stats();
  auto grant = engine_->GenerateDataKey("a", ctx_);
  ASSERT_TRUE(grant.ok());
  const CacheStats after = engine_->cache_stats();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  // The cached key goes on serving Encrypt; neither grant ever does.
  auto second = engine_->Encrypt("a", ctx_, PatternBytes(10));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(WrappedOf(HeaderOf(*second)), WrappedOf(HeaderOf(*first)));
  for (const auto& g : {grant->encrypted_key, grant_.encrypted_key}) {
    EXPECT_NE(WrappedOf(HeaderOf(*second)), WrappedOf(g));
  }

  // An engine that has encrypted nothing yet: a grant leaves the cache empty.
  auto idle = env_.MakeEngine(engine_->keyrings());
  ASSERT_TRUE(idle->GenerateDataKey("a", ctx_).ok());
  EXPECT_EQ(idle->cache_stats().misses, 0u);
  auto m = idle->Encrypt("a", ctx_, PatternBytes(10));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(idle->cache_stats().misses, 1u);
}

TEST_F(DataKeyApiTest, DecryptDataKeyWithTheWrongContextFailsAsDecryptDoes) {
  auto local = Local(grant_);
  auto sealed = local->Encrypt(PatternBytes(10));
  ASSERT_TRUE(sealed.ok());
  for (const EncryptionContext& wrong : {EncryptionContext{{"tenant", "t2"}}, EncryptionContext{},
                                         EncryptionContext{{"tenant", "t1"}, {"extra", "x"}}}) {
    auto r = engine_->DecryptDataKey(grant_.encrypted_key, wrong);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "encryption context does not match the one sealed in the message");
    EXPECT_EQ(engine_->Decrypt(*sealed, wrong).status().message(), r.status().message());
  }
  EXPECT_TRUE(engine_->DecryptDataKey(grant_.encrypted_key, ctx_).ok());
}

TEST_F(DataKeyApiTest, CreateRefusesAWrongDataKey) {
  auto other = engine_->GenerateDataKey("a", ctx_);
  ASSERT_TRUE(other.ok());
  auto r = LocalEnvelope::Create(cipher_, std::move(other->data_key), grant_.encrypted_key);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "data key does not match its encrypted key");

  SecretBytes flipped = grant_.data_key.Clone();
  flipped.data()[31] ^= 0x01;
  r = LocalEnvelope::Create(cipher_, std::move(flipped), grant_.encrypted_key);
  EXPECT_EQ(r.status().message(), "data key does not match its encrypted key");

  r = LocalEnvelope::Create(cipher_, SecretBytes(16), grant_.encrypted_key);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "data key must be 32 bytes, not 16");

  r = LocalEnvelope::Create(nullptr, grant_.data_key.Clone(), grant_.encrypted_key);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// The message id is the one part of a header the tag leaves out (§4.4): the
// template's is zero, every message puts its own there.
TEST_F(DataKeyApiTest, FlippingAnyAuthenticatedByteOfTheEncryptedKeyIsRefused) {
  const std::set<size_t> identity = KeyIdentityPositions();
  for (size_t i = 0; i < grant_.encrypted_key.size(); ++i) {
    if (i >= kIdOffset && i < kIdOffset + kIdSize) continue;
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = grant_.encrypted_key;
      bad[i] ^= mask;
      auto local = LocalEnvelope::Create(cipher_, grant_.data_key.Clone(), bad);
      ASSERT_FALSE(local.ok()) << "Create accepted a flip at " << i;
      EXPECT_EQ(local.status().code(), StatusCode::kInvalidArgument) << "at " << i;

      auto dk = engine_->DecryptDataKey(bad, ctx_);
      ASSERT_FALSE(dk.ok()) << "DecryptDataKey accepted a flip at " << i;
      if (identity.count(i) == 0) {
        EXPECT_EQ(dk.status().code(), StatusCode::kInvalidArgument) << "at " << i;
        EXPECT_EQ(dk.status().message(), kAuthenticationFailedMessage) << "at " << i;
      } else {
        EXPECT_TRUE(dk.status().code() == StatusCode::kInvalidArgument ||
                    dk.status().code() == StatusCode::kNotFound)
            << "at " << i << ": " << dk.status().ToString();
      }
    }
  }
}

TEST_F(DataKeyApiTest, MessageIdOfTheEncryptedKeyIsNotPartOfIt) {
  auto with_id = grant_.encrypted_key;
  for (size_t i = kIdOffset; i < kIdOffset + kIdSize; ++i) with_id[i] = static_cast<uint8_t>(i);
  auto dk = engine_->DecryptDataKey(with_id, ctx_);
  ASSERT_TRUE(dk.ok()) << dk.status().ToString();
  EXPECT_TRUE(*dk == grant_.data_key);
  auto local = LocalEnvelope::Create(cipher_, grant_.data_key.Clone(), with_id);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ((*local)->info().message_id, (std::array<uint8_t, 32>{}));
  auto sealed = (*local)->Encrypt(PatternBytes(100));
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(Local(grant_)->Decrypt(*sealed).ok());
}

TEST_F(DataKeyApiTest, TruncatedEncryptedKeyIsRefused) {
  const size_t n = grant_.encrypted_key.size();
  for (size_t len : {size_t{0}, size_t{7}, size_t{8}, size_t{43}, n / 2, n - 32, n - 1}) {
    std::span<const uint8_t> cut = std::span<const uint8_t>(grant_.encrypted_key).first(len);
    auto local = LocalEnvelope::Create(cipher_, grant_.data_key.Clone(), cut);
    ASSERT_FALSE(local.ok()) << len;
    EXPECT_EQ(local.status().code(), StatusCode::kInvalidArgument) << len;
    EXPECT_EQ(local.status().message().rfind("encrypted key is not a valid SES header", 0), 0u)
        << local.status().message();
    auto dk = engine_->DecryptDataKey(cut, ctx_);
    EXPECT_EQ(dk.status().code(), StatusCode::kInvalidArgument) << len;
    EXPECT_EQ(dk.status().message(), kAuthenticationFailedMessage) << len;
  }
}

TEST_F(DataKeyApiTest, DecryptDataKeyNamesAnUnconfiguredMasterKey) {
  auto b_only = env_.MakeEngine({TestEnv::Keyring("b", {"keyfile://b.key"})});
  auto r = b_only->DecryptDataKey(grant_.encrypted_key, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("keyfile://a.key"), std::string::npos) << r.status().message();
}

TEST_F(DataKeyApiTest, LocalDecryptOfAnotherDataKeysMessageFailsPrecondition) {
  auto local = Local(grant_);
  auto other = engine_->GenerateDataKey("a", ctx_);
  ASSERT_TRUE(other.ok());
  auto foreign = Local(*other)->Encrypt(PatternBytes(50));
  ASSERT_TRUE(foreign.ok());
  auto engine_msg = engine_->Encrypt("a", ctx_, PatternBytes(50));
  ASSERT_TRUE(engine_msg.ok());
  for (const auto& msg : {*foreign, *engine_msg}) {
    auto r = local->Decrypt(msg);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.status().message(), "message is under a different data key");
  }
}

TEST_F(DataKeyApiTest, LocalDecryptRefusesTampering) {
  auto local = Local(grant_);
  const auto plain = PatternBytes(3 * kFrame + 5);
  auto sealed = local->Encrypt(plain);
  ASSERT_TRUE(sealed.ok());
  const size_t commitment_end = template_.header_size - 32;
  for (size_t i = 0; i < sealed->size(); ++i) {
    // A flipped commitment is indistinguishable from another data key's.
    const bool commitment = i >= commitment_end - 32 && i < commitment_end;
    auto bad = *sealed;
    bad[i] ^= 0x01;
    auto r = local->Decrypt(bad);
    ASSERT_FALSE(r.ok()) << "flip at " << i << " was accepted";
    if (commitment) {
      EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << "at " << i;
    } else {
      EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage) << "at " << i << ": " << r.status().ToString();
    }
  }
  for (size_t n = 0; n < sealed->size(); n += 7) {
    auto r = local->Decrypt(std::span<const uint8_t>(*sealed).first(n));
    EXPECT_EQ(r.status().message(), kAuthenticationFailedMessage) << "truncated to " << n;
  }
  auto longer = *sealed;
  longer.push_back(0);
  EXPECT_EQ(local->Decrypt(longer).status().message(), kAuthenticationFailedMessage);
  EXPECT_EQ(*local->Decrypt(*sealed), plain);
}

// A rewrapped message keeps its data key: the holder of that key opens it.
TEST_F(DataKeyApiTest, LocalDecryptOpensARewrappedMessage) {
  auto local = Local(grant_);
  const auto plain = PatternBytes(2 * kFrame + 1);
  auto sealed = local->Encrypt(plain);
  ASSERT_TRUE(sealed.ok());
  auto rewrapped = engine_->ReEncrypt(*sealed, "b");
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
  EXPECT_NE(WrappedOf(HeaderOf(*rewrapped)), WrappedOf(grant_.encrypted_key));
  auto opened = local->Decrypt(*rewrapped);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
}

TEST_F(DataKeyApiTest, ConcurrentEncryptThroughOneEnvelope) {
  auto local = Local(grant_);
  std::atomic<int> failures{0};
  std::vector<std::vector<uint8_t>> first_messages(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto plain = PatternBytes(static_cast<size_t>(i * 3), static_cast<uint32_t>(t));
        auto m = local->Encrypt(plain);
        if (!m.ok()) {
          ++failures;
          continue;
        }
        if (i == 0) first_messages[static_cast<size_t>(t)] = *m;
        auto back = local->Decrypt(*m);
        auto server = engine_->Decrypt(*m, ctx_);
        if (!back.ok() || *back != plain || !server.ok() || *server != plain) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Each message has its own id.
  std::set<std::array<uint8_t, 32>> ids;
  for (const auto& m : first_messages) ids.insert(Engine::Inspect(m)->message_id);
  EXPECT_EQ(ids.size(), 4u);
}

}  // namespace
}  // namespace ses
