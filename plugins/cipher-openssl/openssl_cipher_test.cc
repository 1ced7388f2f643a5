// Unit tests of OpensslCipher, compiled directly (no plugin loader):
// known-answer vectors, round trips, tamper detection, configuration errors
// and the no-allocation promise of the hot path.
#include "openssl_cipher.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <set>
#include <string>
#include <vector>

namespace {

// ---- allocation counting: OpenSSL's allocator and global operator new -----

std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};

void* CountingMalloc(size_t n, const char*, int) {
  if (g_counting) ++g_allocations;
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  if (g_counting) ++g_allocations;
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) { std::free(p); }

// Must run before OpenSSL allocates anything, hence a static initialiser.
const bool g_openssl_hooks_installed =
    CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;

}  // namespace

// GCC flags free() on memory from the replaced operator new once both are
// inlined into one caller, though they are a matching pair.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  if (g_counting) ++g_allocations;
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace ses::cipher_openssl {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint16_t kAllSuites[] = {kAes256GcmSuite, kChaCha20Poly1305Suite, kCascadeSuite};

Bytes Hex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + 31 * i);
  return out;
}

AeadNonce NonceFrom(const Bytes& b) {
  AeadNonce n{};
  std::copy_n(b.begin(), n.size(), n.begin());
  return n;
}

AeadNonce Counter(uint32_t i) {
  AeadNonce n{};
  for (int b = 0; b < 4; ++b) n[8 + b] = static_cast<uint8_t>(i >> (24 - 8 * b));
  return n;
}

size_t KeyLen(uint16_t suite) { return suite == kCascadeSuite ? 64 : 32; }

// AEAD seal with raw EVP on the default library context: the reference the
// cascade is checked against.
Bytes RawSeal(const char* algorithm, const Bytes& key, const AeadNonce& nonce, const Bytes& aad,
              const Bytes& in) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, algorithm, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(in.size() + 16);
  int n = 0;
  EXPECT_NE(cipher, nullptr);
  EXPECT_EQ(EVP_EncryptInit_ex2(ctx, cipher, key.data(), nonce.data(), nullptr), 1);
  if (!aad.empty()) {
    EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())), 1);
  }
  if (!in.empty()) {
    EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(in.size())), 1);
  }
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + in.size(), &n), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + in.size()), 1);
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  return out;
}

class OpensslCipherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = OpensslCipher::Create({});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    cipher_ = std::move(made).value();
  }

  std::unique_ptr<AeadContext> Keyed(uint16_t suite, const Bytes& key) {
    auto aead = cipher_->NewAead(suite);
    EXPECT_TRUE(aead.ok()) << aead.status().ToString();
    if (!aead.ok()) return nullptr;
    Status s = aead.value()->SetKey(key);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(aead).value();
  }

  static Bytes Seal(AeadContext& aead, const AeadNonce& nonce, const Bytes& aad, const Bytes& in) {
    Bytes out(in.size() + aead.TagLength());
    Status s = aead.Seal(nonce, aad, in, out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Plaintext on success; `out` keeps the whole buffer for inspection.
  static StatusOr<Bytes> Open(AeadContext& aead, const AeadNonce& nonce, const Bytes& aad,
                              const Bytes& in, Bytes* out_buffer = nullptr) {
    Bytes out(in.size(), 0xAA);
    Status s = aead.Open(nonce, aad, in, out);
    if (out_buffer != nullptr) *out_buffer = out;
    if (!s.ok()) return s;
    out.resize(in.size() - aead.TagLength());
    return out;
  }

  std::unique_ptr<OpensslCipher> cipher_;
};

// ---- known answers ----------------------------------------------------------

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16.
TEST_F(OpensslCipherTest, AesGcmMatchesNistVector) {
  Bytes key = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  AeadNonce nonce = NonceFrom(Hex("cafebabefacedbaddecaf888"));
  Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes plaintext = Hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  Bytes expected = Hex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  auto aead = Keyed(kAes256GcmSuite, key);
  ASSERT_NE(aead, nullptr);
  EXPECT_EQ(Seal(*aead, nonce, aad, plaintext), expected);
  auto opened = Open(*aead, nonce, aad, expected);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened.value(), plaintext);
}

// RFC 8439 section 2.8.2.
TEST_F(OpensslCipherTest, ChaCha20Poly1305MatchesRfc8439Vector) {
  Bytes key = Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  AeadNonce nonce = NonceFrom(Hex("070000004041424344454647"));
  Bytes aad = Hex("50515253c0c1c2c3c4c5c6c7");
  Bytes plaintext = Text(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.");
  Bytes expected = Hex(
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691");
  auto aead = Keyed(kChaCha20Poly1305Suite, key);
  ASSERT_NE(aead, nullptr);
  EXPECT_EQ(Seal(*aead, nonce, aad, plaintext), expected);
  auto opened = Open(*aead, nonce, aad, expected);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened.value(), plaintext);
}

TEST_F(OpensslCipherTest, CascadeEqualsAesGcmThenChaCha20Poly1305ByHand) {
  Bytes key = Pattern(64, 7);
  Bytes aes_key(key.begin(), key.begin() + 32);
  Bytes chacha_key(key.begin() + 32, key.end());
  AeadNonce nonce = Counter(42);
  for (size_t n : {0, 1, 1000}) {
    for (const Bytes& aad : {Bytes{}, Text("tenant=a")}) {
      Bytes plaintext = Pattern(n, 3);
      Bytes inner = RawSeal("AES-256-GCM", aes_key, nonce, aad, plaintext);
      Bytes expected = RawSeal("ChaCha20-Poly1305", chacha_key, nonce, aad, inner);
      auto aead = Keyed(kCascadeSuite, key);
      ASSERT_NE(aead, nullptr);
      EXPECT_EQ(Seal(*aead, nonce, aad, plaintext), expected) << n << " bytes";
    }
  }
}

// ---- suites and round trips ------------------------------------------------

TEST_F(OpensslCipherTest, ListsTheThreeEnvelopeSuites) {
  std::vector<SuiteInfo> suites = cipher_->Suites();
  ASSERT_EQ(suites.size(), 3u);
  EXPECT_EQ(suites[0].id, 0x0001);
  EXPECT_EQ(suites[0].name, "aes-256-gcm");
  EXPECT_EQ(suites[0].key_len, 32u);
  EXPECT_EQ(suites[0].tag_len, 16u);
  EXPECT_EQ(suites[1].id, 0x0002);
  EXPECT_EQ(suites[1].name, "chacha20-poly1305");
  EXPECT_EQ(suites[1].key_len, 32u);
  EXPECT_EQ(suites[1].tag_len, 16u);
  EXPECT_EQ(suites[2].id, 0x0003);
  EXPECT_EQ(suites[2].name, "aes-256-gcm+chacha20-poly1305");
  EXPECT_EQ(suites[2].key_len, 64u);
  EXPECT_EQ(suites[2].tag_len, 32u);
  for (const auto& s : suites) {
    auto aead = cipher_->NewAead(s.id);
    ASSERT_TRUE(aead.ok());
    EXPECT_EQ(aead.value()->TagLength(), s.tag_len) << s.name;
  }
}

TEST_F(OpensslCipherTest, RoundTripsEmptyOneByteAndLongMessagesWithAndWithoutAad) {
  for (uint16_t suite : kAllSuites) {
    auto aead = Keyed(suite, Pattern(KeyLen(suite), 1));
    ASSERT_NE(aead, nullptr);
    uint32_t counter = 0;
    for (size_t n : {0, 1, 1000}) {
      for (const Bytes& aad : {Bytes{}, Text("purpose=test")}) {
        Bytes plaintext = Pattern(n, 9);
        AeadNonce nonce = Counter(++counter);
        Bytes sealed = Seal(*aead, nonce, aad, plaintext);
        ASSERT_EQ(sealed.size(), n + aead->TagLength());
        if (n > 0) {
          EXPECT_NE(Bytes(sealed.begin(), sealed.begin() + n), plaintext);
        }
        auto opened = Open(*aead, nonce, aad, sealed);
        ASSERT_TRUE(opened.ok()) << "suite " << suite << ", " << n << " bytes: " << opened.status().ToString();
        EXPECT_EQ(opened.value(), plaintext);
      }
    }
  }
}

TEST_F(OpensslCipherTest, SealsAndOpensInPlace) {
  for (uint16_t suite : kAllSuites) {
    auto aead = Keyed(suite, Pattern(KeyLen(suite), 2));
    ASSERT_NE(aead, nullptr);
    const size_t tag = aead->TagLength();
    Bytes plaintext = Pattern(100, 4);
    Bytes aad = Text("ctx");
    Bytes expected = Seal(*aead, Counter(1), aad, plaintext);

    Bytes buf = plaintext;
    buf.resize(plaintext.size() + tag);
    ASSERT_TRUE(aead->Seal(Counter(1), aad, std::span(buf.data(), plaintext.size()), buf).ok());
    EXPECT_EQ(buf, expected);
    ASSERT_TRUE(aead->Open(Counter(1), aad, buf, buf).ok());
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + plaintext.size()), plaintext);
  }
}

TEST_F(OpensslCipherTest, ReusesOneKeyAcrossManyNonces) {
  for (uint16_t suite : kAllSuites) {
    Bytes key = Pattern(KeyLen(suite), 5);
    auto reused = Keyed(suite, key);
    auto rekeyed = Keyed(suite, key);
    ASSERT_NE(reused, nullptr);
    ASSERT_NE(rekeyed, nullptr);
    Bytes plaintext = Pattern(64, 6);
    std::set<Bytes> seen;
    for (uint32_t i = 0; i < 200; ++i) {
      Bytes sealed = Seal(*reused, Counter(i), {}, plaintext);
      // Setting the same key again forces a full re-init: the nonce-only path must agree.
      ASSERT_TRUE(rekeyed->SetKey(key).ok());
      ASSERT_EQ(Seal(*rekeyed, Counter(i), {}, plaintext), sealed) << "message " << i;
      seen.insert(sealed);
      auto opened = Open(*reused, Counter(i), {}, sealed);
      ASSERT_TRUE(opened.ok()) << "message " << i;
      ASSERT_EQ(opened.value(), plaintext);
    }
    EXPECT_EQ(seen.size(), 200u) << "each nonce must give a different ciphertext";
  }
}

TEST_F(OpensslCipherTest, SwitchesBetweenSealAndOpenAndKeysOnOneContext) {
  for (uint16_t suite : kAllSuites) {
    Bytes key1 = Pattern(KeyLen(suite), 10);
    Bytes key2 = Pattern(KeyLen(suite), 11);
    auto aead = Keyed(suite, key1);
    ASSERT_NE(aead, nullptr);
    Bytes m1 = Seal(*aead, Counter(1), Text("a"), Text("first"));
    ASSERT_TRUE(Open(*aead, Counter(1), Text("a"), m1).ok());
    Bytes m2 = Seal(*aead, Counter(2), Text("b"), Text("second"));
    auto o2 = Open(*aead, Counter(2), Text("b"), m2);
    auto o1 = Open(*aead, Counter(1), Text("a"), m1);
    ASSERT_TRUE(o1.ok() && o2.ok());
    EXPECT_EQ(o1.value(), Text("first"));
    EXPECT_EQ(o2.value(), Text("second"));

    // A failed open must not spoil the context.
    Bytes forged = m1;
    forged[0] ^= 1;
    EXPECT_FALSE(Open(*aead, Counter(1), Text("a"), forged).ok());
    EXPECT_TRUE(Open(*aead, Counter(1), Text("a"), m1).ok());

    // A new key takes effect on both directions.
    ASSERT_TRUE(aead->SetKey(key2).ok());
    EXPECT_FALSE(Open(*aead, Counter(1), Text("a"), m1).ok());
    Bytes m3 = Seal(*aead, Counter(1), Text("a"), Text("first"));
    EXPECT_NE(m3, m1);
    EXPECT_EQ(m3, Seal(*Keyed(suite, key2), Counter(1), Text("a"), Text("first")));
    EXPECT_TRUE(Open(*aead, Counter(1), Text("a"), m3).ok());
  }
}

// ---- tampering --------------------------------------------------------------

void ExpectAuthenticationFailed(const StatusOr<Bytes>& opened, const Bytes& out, size_t plaintext_len,
                                const std::string& what) {
  ASSERT_FALSE(opened.ok()) << what;
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << what;
  EXPECT_EQ(opened.status().message(), "authentication failed") << what;
  EXPECT_TRUE(std::all_of(out.begin(), out.begin() + plaintext_len, [](uint8_t b) { return b == 0; }))
      << what << ": output not wiped";
}

TEST_F(OpensslCipherTest, EverySingleByteFlipFailsAuthentication) {
  for (uint16_t suite : kAllSuites) {
    auto aead = Keyed(suite, Pattern(KeyLen(suite), 12));
    ASSERT_NE(aead, nullptr);
    Bytes plaintext = Pattern(48, 13);
    Bytes aad = Text("tenant=42,purpose=flip");
    AeadNonce nonce = Counter(77);
    Bytes sealed = Seal(*aead, nonce, aad, plaintext);
    const std::string name = "suite " + std::to_string(suite);
    Bytes out;

    for (size_t i = 0; i < sealed.size(); ++i) {
      Bytes bad = sealed;
      bad[i] ^= 0x01;
      ExpectAuthenticationFailed(Open(*aead, nonce, aad, bad, &out), out, plaintext.size(),
                                 name + (i < plaintext.size() ? " ciphertext " : " tag ") + std::to_string(i));
    }
    for (size_t i = 0; i < aad.size(); ++i) {
      Bytes bad = aad;
      bad[i] ^= 0x01;
      ExpectAuthenticationFailed(Open(*aead, nonce, bad, sealed, &out), out, plaintext.size(),
                                 name + " aad " + std::to_string(i));
    }
    for (size_t i = 0; i < nonce.size(); ++i) {
      AeadNonce bad = nonce;
      bad[i] ^= 0x01;
      ExpectAuthenticationFailed(Open(*aead, bad, aad, sealed, &out), out, plaintext.size(),
                                 name + " nonce " + std::to_string(i));
    }
    // The untouched message still opens after all those failures.
    auto opened = Open(*aead, nonce, aad, sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened.value(), plaintext);
  }
}

TEST_F(OpensslCipherTest, InputShorterThanTheTagFailsAuthentication) {
  for (uint16_t suite : kAllSuites) {
    auto aead = Keyed(suite, Pattern(KeyLen(suite), 14));
    ASSERT_NE(aead, nullptr);
    Bytes sealed = Seal(*aead, Counter(1), {}, {});
    sealed.pop_back();
    auto opened = Open(*aead, Counter(1), {}, sealed);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(opened.status().message(), "authentication failed");
  }
}

// ---- misuse -----------------------------------------------------------------

TEST_F(OpensslCipherTest, RejectsWrongKeyLengthAndForgetsThePreviousKey) {
  for (uint16_t suite : kAllSuites) {
    const size_t len = KeyLen(suite);
    for (size_t wrong : {size_t{0}, size_t{16}, len - 1, len + 1}) {
      auto aead = Keyed(suite, Pattern(len, 15));
      ASSERT_NE(aead, nullptr);
      Status s = aead->SetKey(Pattern(wrong, 15));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << wrong;
      EXPECT_NE(s.message().find(std::to_string(len) + "-byte key"), std::string::npos) << s.message();
      Bytes out(aead->TagLength());
      EXPECT_EQ(aead->Seal(Counter(1), {}, {}, out).code(), StatusCode::kFailedPrecondition);
    }
  }
}

TEST_F(OpensslCipherTest, SealAndOpenBeforeSetKeyFail) {
  auto aead = cipher_->NewAead(kAes256GcmSuite);
  ASSERT_TRUE(aead.ok());
  Bytes out(16);
  EXPECT_EQ(aead.value()->Seal(Counter(1), {}, {}, out).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(aead.value()->Open(Counter(1), {}, out, out).code(), StatusCode::kFailedPrecondition);
}

TEST_F(OpensslCipherTest, RejectsOutputBuffersOfTheWrongSize) {
  for (uint16_t suite : kAllSuites) {
    auto aead = Keyed(suite, Pattern(KeyLen(suite), 16));
    ASSERT_NE(aead, nullptr);
    Bytes in = Pattern(10, 1);
    const size_t tag = aead->TagLength();
    for (size_t size : {size_t{0}, in.size() + tag - 1, in.size() + tag + 1}) {
      Bytes out(size);
      EXPECT_EQ(aead->Seal(Counter(1), {}, in, out).code(), StatusCode::kInvalidArgument) << size;
    }
    Bytes sealed = Seal(*aead, Counter(1), {}, in);
    Bytes small(sealed.size() - 1);
    Status s = aead->Open(Counter(1), {}, sealed, small);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message(), "authentication failed") << "a caller bug is not a forgery";
  }
}

TEST_F(OpensslCipherTest, NewAeadRejectsUnknownSuiteNamingTheId) {
  for (uint16_t id : {0x0000, 0x0004, 0xffff}) {
    auto aead = cipher_->NewAead(id);
    ASSERT_FALSE(aead.ok());
    EXPECT_EQ(aead.status().code(), StatusCode::kNotFound);
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%04x", id);
    EXPECT_NE(aead.status().message().find(hex), std::string::npos) << aead.status().message();
  }
}

TEST_F(OpensslCipherTest, ContextsOutliveTheirProvider) {
  auto aead = Keyed(kCascadeSuite, Pattern(64, 17));
  ASSERT_NE(aead, nullptr);
  cipher_.reset();
  Bytes plaintext = Text("still here");
  Bytes sealed = Seal(*aead, Counter(1), {}, plaintext);
  auto opened = Open(*aead, Counter(1), {}, sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened.value(), plaintext);
}

TEST_F(OpensslCipherTest, SetKeySealAndOpenDoNotAllocate) {
  ASSERT_TRUE(g_openssl_hooks_installed) << "OpenSSL allocated before the test could hook it";
  for (uint16_t suite : kAllSuites) {
    auto made = cipher_->NewAead(suite);
    ASSERT_TRUE(made.ok());
    AeadContext& aead = *made.value();
    Bytes key = Pattern(KeyLen(suite), 18);
    Bytes aad = Text("aad");
    Bytes plaintext = Pattern(4096, 19);
    Bytes sealed(plaintext.size() + aead.TagLength());
    Bytes opened(sealed.size());
    // The first use may set up per-thread OpenSSL state; it is not the hot path.
    ASSERT_TRUE(aead.SetKey(key).ok());
    ASSERT_TRUE(aead.Seal(Counter(0), aad, plaintext, sealed).ok());
    ASSERT_TRUE(aead.Open(Counter(0), aad, sealed, opened).ok());

    bool all_ok = true;
    g_allocations = 0;
    g_counting = true;
    for (uint32_t i = 1; i <= 50; ++i) {
      key[0] = static_cast<uint8_t>(i);
      all_ok &= aead.SetKey(key).ok();
      for (uint32_t frame = 0; frame < 4; ++frame) {
        all_ok &= aead.Seal(Counter(frame), aad, plaintext, sealed).ok();
        all_ok &= aead.Open(Counter(frame), aad, sealed, opened).ok();
      }
    }
    g_counting = false;
    EXPECT_TRUE(all_ok);
    EXPECT_EQ(g_allocations.load(), 0u) << "suite " << suite;
  }
}

// ---- configuration ----------------------------------------------------------

TEST(OpensslCipherConfigTest, RejectsUnknownConfigKey) {
  auto made = OpensslCipher::Create({{"properties", ""}, {"foo", "bar"}});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(made.status().message(), "cipher-openssl: unknown config key 'foo'");
}

bool FipsProviderLoads() {
  OSSL_LIB_CTX* probe = OSSL_LIB_CTX_new();
  OSSL_PROVIDER* fips = OSSL_PROVIDER_load(probe, "fips");
  bool loads = fips != nullptr;
  if (fips != nullptr) OSSL_PROVIDER_unload(fips);
  OSSL_LIB_CTX_free(probe);
  ERR_clear_error();
  return loads;
}

TEST(OpensslCipherConfigTest, FipsPropertiesFailWithoutTheFipsProvider) {
  if (FipsProviderLoads()) GTEST_SKIP() << "this machine has a working FIPS provider";
  for (const char* query : {"fips=yes", "provider=fips", " fips = yes ", "fips", "provider=default,fips=yes"}) {
    auto made = OpensslCipher::Create({{"properties", query}});
    ASSERT_FALSE(made.ok()) << query;
    EXPECT_EQ(made.status().code(), StatusCode::kFailedPrecondition) << query;
    EXPECT_NE(made.status().message().find("FIPS"), std::string::npos) << made.status().message();
    EXPECT_NE(made.status().message().find(query), std::string::npos) << made.status().message();
  }
}

TEST(OpensslCipherConfigTest, ProviderDefaultPropertiesWork) {
  auto by_default = OpensslCipher::Create({});
  auto explicit_default = OpensslCipher::Create({{"properties", "provider=default"}});
  ASSERT_TRUE(by_default.ok());
  ASSERT_TRUE(explicit_default.ok()) << explicit_default.status().ToString();
  for (uint16_t suite : kAllSuites) {
    Bytes key = Pattern(KeyLen(suite), 20);
    auto a = by_default.value()->NewAead(suite);
    auto b = explicit_default.value()->NewAead(suite);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(a.value()->SetKey(key).ok() && b.value()->SetKey(key).ok());
    Bytes plaintext = Pattern(33, 21);
    Bytes sa(plaintext.size() + a.value()->TagLength());
    Bytes sb(sa.size());
    ASSERT_TRUE(a.value()->Seal(Counter(3), {}, plaintext, sa).ok());
    ASSERT_TRUE(b.value()->Seal(Counter(3), {}, plaintext, sb).ok());
    EXPECT_EQ(sa, sb);
  }
}

TEST(OpensslCipherConfigTest, OptionalFipsClauseDoesNotRequireTheFipsProvider) {
  auto made = OpensslCipher::Create({{"properties", "?fips=yes"}});
  EXPECT_TRUE(made.ok()) << made.status().ToString();
}

TEST(OpensslCipherConfigTest, RejectsMalformedPropertyQuery) {
  auto made = OpensslCipher::Create({{"properties", "=bad"}});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("'=bad'"), std::string::npos) << made.status().message();
}

TEST(OpensslCipherConfigTest, PropertiesNoProviderMatchesFailNamingTheAlgorithm) {
  auto made = OpensslCipher::Create({{"properties", "provider=nonexistent"}});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(made.status().message().find("AES-256-GCM"), std::string::npos) << made.status().message();
}

TEST(OpensslCipherConfigTest, LoadsConfigFile) {
  std::string path = ::testing::TempDir() + "cipher_openssl_test.cnf";
  {
    std::ofstream f(path);
    f << "openssl_conf = ses_init\n"
         "[ses_init]\nproviders = provider_sect\n"
         "[provider_sect]\ndefault = default_sect\n"
         "[default_sect]\nactivate = 1\n";
  }
  auto made = OpensslCipher::Create({{"config_file", path}, {"properties", "provider=default"}});
  std::remove(path.c_str());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(made.value()->NewAead(kChaCha20Poly1305Suite).ok());
}

TEST(OpensslCipherConfigTest, MissingConfigFileFailsNamingThePath) {
  auto made = OpensslCipher::Create({{"config_file", "/nonexistent/ses-openssl.cnf"}});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("/nonexistent/ses-openssl.cnf"), std::string::npos)
      << made.status().message();
}

}  // namespace
}  // namespace ses::cipher_openssl
