// Pkcs11Provider against SoftHSM2: every mechanism, key management, keys
// made by pkcs11-tool, PIN sources and the errors callers must be able to
// tell apart. Sessions, recovery and concurrency: pkcs11_session_test.cc.
#include "pkcs11_provider.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <set>
#include <string>
#include <vector>

#include "module.h"
#include "softhsm_test_fixture.h"

namespace ses::pkcs11 {
namespace {

const Bytes kDataKey = Pattern(0x40, 32);
const Bytes kNoAad;

// Straight OpenSSL, independent of the token: the reference for the KATs.
// A wrapped key without its mechanism tag, after checking the tag.
Bytes Body(const Bytes& wrapped, uint8_t tag) {
  EXPECT_FALSE(wrapped.empty());
  if (wrapped.empty()) return {};
  EXPECT_EQ(wrapped[0], tag);
  return Bytes(wrapped.begin() + 1, wrapped.end());
}

Bytes OpenSslWrap(const char* cipher_name, const Bytes& kek, const Bytes& in) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, cipher_name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(in.size() + 16);
  int len = 0, fin = 0;
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  bool ok = cipher != nullptr &&
            EVP_EncryptInit_ex2(ctx, cipher, kek.data(), nullptr, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + len, &fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  if (!ok) return {};
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

// Opens IV(12) || ciphertext || tag(16) with AES-256-GCM; empty on failure.
Bytes OpenSslOpenGcm(const Bytes& key, const Bytes& blob, const Bytes& aad) {
  if (blob.size() < 28) return {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const size_t ct_len = blob.size() - 28;
  Bytes out(ct_len + 1);
  int len = 0, fin = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), blob.data()) == 1 &&
            (aad.empty() ||
             EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(ctx, out.data(), &len, blob.data() + 12, static_cast<int>(ct_len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                const_cast<uint8_t*>(blob.data() + blob.size() - 16)) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + len, &fin) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return {};
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

class Pkcs11ProviderTest : public SoftHsmTest {
 protected:
  // Puts an AES key of known value on the token (label `label`, CKA_ID 01,
  // every usage allowed), so wraps can be checked against OpenSSL.
  void CreateKnownKey(Pkcs11Provider& p, const std::string& label, const Bytes& value) {
    Status s = p.WithSessionForTesting(Uri(label), [&](Lease& l) {
      CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
      CK_KEY_TYPE type = CKK_AES;
      CK_BBOOL yes = CK_TRUE;
      uint8_t id = 1;
      CK_ATTRIBUTE tmpl[] = {
          {CKA_CLASS, &cls, sizeof(cls)},     {CKA_KEY_TYPE, &type, sizeof(type)},
          {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
          {CKA_WRAP, &yes, sizeof(yes)},      {CKA_UNWRAP, &yes, sizeof(yes)},
          {CKA_ENCRYPT, &yes, sizeof(yes)},   {CKA_DECRYPT, &yes, sizeof(yes)},
          {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
          {CKA_ID, &id, 1},
          {CKA_VALUE, const_cast<uint8_t*>(value.data()), value.size()},
      };
      CK_OBJECT_HANDLE h;
      return l.Check("C_CreateObject", l.fn()->C_CreateObject(l.handle(), tmpl, std::size(tmpl), &h), "");
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // The CK_BBOOL attributes of the one object labelled `label`.
  std::map<CK_ATTRIBUTE_TYPE, bool> Flags(Pkcs11Provider& p, const std::string& label) {
    std::map<CK_ATTRIBUTE_TYPE, bool> flags;
    Status s = p.WithSessionForTesting(Uri(label), [&](Lease& l) -> Status {
      auto uri = ParseKeyUri(Uri(label));
      if (!uri.ok()) return uri.status();
      auto found = FindLabelled(l, *uri);
      if (!found.ok()) return found.status();
      if (found->size() != 1) return InternalError("expected one object");
      for (CK_ATTRIBUTE_TYPE t : {CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_WRAP,
                                  CKA_UNWRAP, CKA_ENCRYPT, CKA_DECRYPT}) {
        CK_BBOOL v = CK_FALSE;
        CK_ATTRIBUTE a{t, &v, sizeof(v)};
        Status got = l.Check("C_GetAttributeValue",
                             l.fn()->C_GetAttributeValue(l.handle(), (*found)[0], &a, 1), "");
        if (!got.ok()) return got;
        flags[t] = v == CK_TRUE;
      }
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return flags;
  }
};

TEST_F(Pkcs11ProviderTest, CreatedKeyRoundTripsWithKeyWrapPad) {
  auto p = NewProvider();
  ASSERT_NE(p, nullptr);
  auto created = p->CreateKey(Uri("master"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(*created, UriWithoutPin("master"));  // the PIN is not handed back
  auto versions = p->ListVersions(Uri("master"));
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<std::string>{"00000001"});

  for (size_t len : {16u, 32u, 64u}) {
    Bytes dk = Pattern(0x10, len);
    auto wrapped = p->Wrap(Uri("master"), dk, kNoAad);
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(wrapped->key_version, "00000001");
    EXPECT_EQ(wrapped->wrapped.size(), 1 + len + 8) << len;  // tag, RFC 5649
    auto unwrapped = p->Unwrap(Uri("master"), wrapped->key_version, wrapped->wrapped, kNoAad);
    ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
    EXPECT_EQ(ToBytes(*unwrapped), dk);
  }
  // Partial blocks: exact on a correct token; refused (never returned
  // padded) on SoftHSM2 2.6, whose CKM_AES_KEY_WRAP_PAD pads them itself.
  for (size_t len : {1u, 20u}) {
    Bytes dk = Pattern(0x10, len);
    auto wrapped = p->Wrap(Uri("master"), dk, kNoAad);
    if (wrapped.ok()) {
      auto unwrapped = p->Unwrap(Uri("master"), wrapped->key_version, wrapped->wrapped, kNoAad);
      ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
      EXPECT_EQ(ToBytes(*unwrapped), dk);
      continue;
    }
    EXPECT_EQ(wrapped.status().code(), StatusCode::kFailedPrecondition) << wrapped.status().ToString();
    EXPECT_NE(wrapped.status().message().find("whole 8-byte blocks"), std::string::npos);
  }
}

TEST_F(Pkcs11ProviderTest, CreatedKeyIsSensitiveNeverExtractableAndOnlyWraps) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto f = Flags(*p, "master");
  EXPECT_TRUE(f[CKA_TOKEN]);
  EXPECT_TRUE(f[CKA_PRIVATE]);
  EXPECT_TRUE(f[CKA_SENSITIVE]);
  EXPECT_FALSE(f[CKA_EXTRACTABLE]);
  EXPECT_TRUE(f[CKA_WRAP]);
  EXPECT_TRUE(f[CKA_UNWRAP]);
  EXPECT_FALSE(f[CKA_ENCRYPT]);
  EXPECT_FALSE(f[CKA_DECRYPT]);

  auto again = p->CreateKey(Uri("master"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
  EXPECT_NE(again.status().message().find("'master'"), std::string::npos);
}

TEST_F(Pkcs11ProviderTest, KeyWrapPadMatchesOpenSslRfc5649) {
  auto p = NewProvider({{"mechanism", "aes-key-wrap-pad"}});
  const Bytes kek = Pattern(0x80, 32);
  CreateKnownKey(*p, "kat", kek);
  for (size_t len : {16u, 32u, 40u}) {
    Bytes dk = Pattern(0x01, len);
    auto wrapped = p->Wrap(Uri("kat"), dk, kNoAad);
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(wrapped->key_version, "01");
    EXPECT_EQ(Body(wrapped->wrapped, 1), OpenSslWrap("AES-256-WRAP-PAD", kek, dk)) << len;
  }
  // Other lengths: RFC 5649 output, or refused where the token is not exact.
  for (size_t len : {7u, 33u}) {
    Bytes dk = Pattern(0x01, len);
    auto wrapped = p->Wrap(Uri("kat"), dk, kNoAad);
    if (wrapped.ok()) {
      EXPECT_EQ(Body(wrapped->wrapped, 1), OpenSslWrap("AES-256-WRAP-PAD", kek, dk)) << len;
    } else {
      EXPECT_EQ(wrapped.status().code(), StatusCode::kFailedPrecondition) << wrapped.status().ToString();
    }
  }
  // And the other way: OpenSSL's wrap unwraps on the token.
  Bytes dk = Pattern(0x22, 24);
  Bytes from_openssl = OpenSslWrap("AES-256-WRAP-PAD", kek, dk);
  from_openssl.insert(from_openssl.begin(), 1);  // the KWP mechanism tag
  auto unwrapped = p->Unwrap(Uri("kat"), "01", from_openssl, kNoAad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), dk);
}

TEST_F(Pkcs11ProviderTest, KeyWrapMatchesOpenSslRfc3394AndNeedsWholeBlocks) {
  auto p = NewProvider({{"mechanism", "aes-key-wrap"}});
  const Bytes kek = Pattern(0x90, 32);
  CreateKnownKey(*p, "kat", kek);
  auto wrapped = p->Wrap(Uri("kat"), kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->wrapped.size(), 41u);
  EXPECT_EQ(Body(wrapped->wrapped, 2), OpenSslWrap("AES-256-WRAP", kek, kDataKey));
  auto unwrapped = p->Unwrap(Uri("kat"), "01", wrapped->wrapped, kNoAad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), kDataKey);

  auto odd = p->Wrap(Uri("kat"), Pattern(1, 20), kNoAad);
  EXPECT_EQ(odd.status().code(), StatusCode::kInvalidArgument) << odd.status().ToString();
  EXPECT_NE(odd.status().message().find("steps of 8"), std::string::npos) << odd.status().message();
}

// The wrapped key records its mechanism: a provider configured otherwise
// (or left on auto) still unwraps it.
TEST_F(Pkcs11ProviderTest, WrapsRecordTheirMechanismAcrossConfigChanges) {
  auto kw = NewProvider({{"mechanism", "aes-key-wrap"}});
  ASSERT_TRUE(kw->CreateKey(Uri("master")).ok());
  auto wrapped = kw->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  for (const char* other : {"auto", "aes-key-wrap-pad"}) {
    auto p = NewProvider({{"mechanism", other}});
    auto unwrapped = p->Unwrap(Uri("master"), "00000001", wrapped->wrapped, kNoAad);
    ASSERT_TRUE(unwrapped.ok()) << other << ": " << unwrapped.status().ToString();
    EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
  }
  Bytes bad = wrapped->wrapped;
  bad[0] = 9;
  EXPECT_EQ(kw->Unwrap(Uri("master"), "00000001", bad, kNoAad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(Pkcs11ProviderTest, SesKeyRoundTripsWithKeyWrap) {
  auto p = NewProvider({{"mechanism", "aes-key-wrap"}});
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto wrapped = p->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->wrapped.size(), 41u);
  auto unwrapped = p->Unwrap(Uri("master"), "00000001", wrapped->wrapped, kNoAad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
}

TEST_F(Pkcs11ProviderTest, GcmBindsTheAadAndMatchesOpenSsl) {
  auto p = NewProvider({{"mechanism", "aes-gcm"}});
  const Bytes kek = Pattern(0xa0, 32);
  CreateKnownKey(*p, "kat", kek);
  const Bytes aad = {'t', '=', '1'};
  auto wrapped = p->Wrap(Uri("kat"), kDataKey, aad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->wrapped.size(), 1u + 12u + 32u + 16u);  // mechanism tag, IV || ciphertext || tag
  EXPECT_EQ(OpenSslOpenGcm(kek, Body(wrapped->wrapped, 3), aad), kDataKey);
  EXPECT_TRUE(OpenSslOpenGcm(kek, Body(wrapped->wrapped, 3), Bytes{'t', '=', '2'}).empty());
  auto again = p->Wrap(Uri("kat"), kDataKey, aad);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(Bytes(again->wrapped.begin(), again->wrapped.begin() + 12),
            Bytes(wrapped->wrapped.begin(), wrapped->wrapped.begin() + 12));  // fresh IV

  auto unwrapped = p->Unwrap(Uri("kat"), "01", wrapped->wrapped, aad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
  for (const Bytes& other : {Bytes{'t', '=', '2'}, kNoAad}) {
    auto wrong = p->Unwrap(Uri("kat"), "01", wrapped->wrapped, other);
    EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument) << wrong.status().ToString();
    EXPECT_NE(wrong.status().message().find("C_Decrypt"), std::string::npos) << wrong.status().message();
  }
}

TEST_F(Pkcs11ProviderTest, GcmKeyCreatedBySesMayEncryptAndRoundTrips) {
  auto p = NewProvider({{"mechanism", "aes-gcm"}});
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto f = Flags(*p, "master");
  // SoftHSM2 offers GCM for C_Encrypt only, so the master key must encrypt.
  EXPECT_TRUE(f[CKA_ENCRYPT]);
  EXPECT_TRUE(f[CKA_DECRYPT]);
  EXPECT_FALSE(f[CKA_EXTRACTABLE]);
  const Bytes aad = {1, 2, 3};
  auto wrapped = p->Wrap(Uri("master"), kDataKey, aad);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  auto unwrapped = p->Unwrap(Uri("master"), "00000001", wrapped->wrapped, aad);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
}

TEST_F(Pkcs11ProviderTest, RsaKeyPairMadeByPkcs11ToolWrapsWithOaep) {
  ASSERT_TRUE(Pkcs11Tool("--keypairgen --key-type rsa:2048 --label rsa --id 02"));
  auto p = NewProvider();
  for (const char* type : {";type=private-key", ";type=private"}) {
    SCOPED_TRACE(type);
    const std::string uri = Uri("rsa", type);
    auto versions = p->ListVersions(uri);
    ASSERT_TRUE(versions.ok()) << versions.status().ToString();
    EXPECT_EQ(*versions, std::vector<std::string>{"02"});
    auto wrapped = p->Wrap(uri, kDataKey, kNoAad);
    ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
    EXPECT_EQ(wrapped->key_version, "02");
    EXPECT_EQ(wrapped->wrapped.size(), 257u);  // mechanism tag, one RSA-2048 block
    auto unwrapped = p->Unwrap(uri, "02", wrapped->wrapped, kNoAad);
    ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
    EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
    auto generated = p->GenerateDataKey(uri, 32, kNoAad);
    ASSERT_TRUE(generated.ok()) << generated.status().ToString();
    auto back = p->Unwrap(uri, "02", generated->wrapped.wrapped, kNoAad);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, generated->data_key);
  }
  // Without type= the URI names secret keys, and there is none labelled rsa.
  EXPECT_EQ(p->Wrap(Uri("rsa"), kDataKey, kNoAad).status().code(), StatusCode::kNotFound);
  // SES does not make or rotate RSA keys.
  EXPECT_EQ(p->RotateKey(Uri("rsa", ";type=private-key")).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(Pkcs11ProviderTest, StrictRsaOaepIsSha256OrAClearRefusal) {
  ASSERT_TRUE(Pkcs11Tool("--keypairgen --key-type rsa:2048 --label rsa --id 02"));
  auto p = NewProvider({{"mechanism", "rsa-oaep"}});
  auto wrapped = p->Wrap(Uri("rsa", ";type=private-key"), kDataKey, kNoAad);
  if (wrapped.ok()) {  // a SoftHSM2 that does OAEP with SHA-256
    auto unwrapped = p->Unwrap(Uri("rsa", ";type=private-key"), "02", wrapped->wrapped, kNoAad);
    ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
    EXPECT_EQ(ToBytes(*unwrapped), kDataKey);
    return;
  }
  // SoftHSM2 2.6 refuses every OAEP hash but SHA-1.
  EXPECT_EQ(wrapped.status().code(), StatusCode::kFailedPrecondition) << wrapped.status().ToString();
  EXPECT_NE(wrapped.status().message().find("C_WrapKey: CKR_ARGUMENTS_BAD"), std::string::npos);
  EXPECT_NE(wrapped.status().message().find("SHA-256"), std::string::npos);
}

TEST_F(Pkcs11ProviderTest, KeyMadeByPkcs11ToolWorksByUriAndRotates) {
  ASSERT_TRUE(Pkcs11Tool("--keygen --key-type AES:32 --label ext --id 01"));
  auto p = NewProvider();
  const std::string uri = "pkcs11:token=ses-test;object=ext?pin-value=87654321";
  auto versions = p->ListVersions(uri);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<std::string>{"01"});
  auto v1 = p->Wrap(uri, kDataKey, kNoAad);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->key_version, "01");

  auto rotated = p->RotateKey(uri);
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(*rotated, "00000002");
  versions = p->ListVersions(uri);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::string>{"01", "00000002"}));
  auto v2 = p->Wrap(uri, kDataKey, kNoAad);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->key_version, "00000002");
  for (const WrappedKey* w : {&*v1, &*v2}) {
    auto u = p->Unwrap(uri, w->key_version, w->wrapped, kNoAad);
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_EQ(ToBytes(*u), kDataKey);
  }
}

TEST_F(Pkcs11ProviderTest, RotationAddsVersionsAndOldWrapsStillUnwrap) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto v1 = p->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(v1.ok());
  auto rotated = p->RotateKey(Uri("master"));
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(*rotated, "00000002");
  auto v2 = p->Wrap(Uri("master"), kDataKey, kNoAad);  // right after: no stale cache
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->key_version, "00000002");
  EXPECT_NE(v2->wrapped, v1->wrapped);  // a new key, not a copy

  auto old = p->Unwrap(Uri("master"), "00000001", v1->wrapped, kNoAad);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(ToBytes(*old), kDataKey);
  auto cur = p->Unwrap(Uri("master"), "00000002", v2->wrapped, kNoAad);
  ASSERT_TRUE(cur.ok()) << cur.status().ToString();
  EXPECT_EQ(ToBytes(*cur), kDataKey);
  // A wrap under version 1 does not open under version 2.
  EXPECT_EQ(p->Unwrap(Uri("master"), "00000002", v1->wrapped, kNoAad).status().code(),
            StatusCode::kInvalidArgument);

  ASSERT_TRUE(p->RotateKey(Uri("master")).ok());
  auto versions = p->ListVersions(Uri("master"));
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<std::string>{"00000001", "00000002", "00000003"}));
  // A second provider (another process, in effect) sees the same versions.
  auto other = NewProvider();
  auto seen = other->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->key_version, "00000003");
}

TEST_F(Pkcs11ProviderTest, UriWithIdUsesOnlyThatVersion) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  ASSERT_TRUE(p->RotateKey(Uri("master")).ok());
  const std::string pinned = Uri("master", ";id=%00%00%00%01");
  auto w = p->Wrap(pinned, kDataKey, kNoAad);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->key_version, "00000001");
  auto versions = p->ListVersions(pinned);
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, std::vector<std::string>{"00000001"});
  auto v2 = p->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(v2.ok());
  auto other = p->Unwrap(pinned, "00000002", v2->wrapped, kNoAad);
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound) << other.status().ToString();
  EXPECT_EQ(p->RotateKey(pinned).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(Pkcs11ProviderTest, GenerateDataKeyUsesTheTokensRng) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  std::set<Bytes> seen;
  for (int i = 0; i < 4; ++i) {
    auto g = p->GenerateDataKey(Uri("master"), 32, kNoAad);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->data_key.size(), 32u);
    EXPECT_EQ(g->wrapped.key_version, "00000001");
    EXPECT_EQ(g->wrapped.wrapped.size(), 41u);
    auto u = p->Unwrap(Uri("master"), "00000001", g->wrapped.wrapped, kNoAad);
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_EQ(*u, g->data_key);
    seen.insert(ToBytes(g->data_key));
  }
  EXPECT_EQ(seen.size(), 4u);
  // Lengths AES cannot have: the host makes the key (kUnimplemented).
  EXPECT_EQ(p->GenerateDataKey(Uri("master"), 20, kNoAad).status().code(), StatusCode::kUnimplemented);
}

TEST_F(Pkcs11ProviderTest, GenerateDataKeyUnderGcmBindsTheAad) {
  auto p = NewProvider({{"mechanism", "aes-gcm"}});
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  const Bytes aad = {9, 9};
  auto g = p->GenerateDataKey(Uri("master"), 32, aad);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->wrapped.wrapped.size(), 61u);
  auto u = p->Unwrap(Uri("master"), "00000001", g->wrapped.wrapped, aad);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, g->data_key);
  EXPECT_EQ(p->Unwrap(Uri("master"), "00000001", g->wrapped.wrapped, kNoAad).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(Pkcs11ProviderTest, WrongPinIsPermissionDeniedWithoutThePinAndTheRightOneThenWorks) {
  auto p = NewProvider();
  const std::string wrong = UriWithoutPin("master") + "?pin-value=wrong-pin-314159";
  for (int i = 0; i < 2; ++i) {  // the second time without asking the token
    auto r = p->ListVersions(wrong);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
    const std::string& m = r.status().message();
    EXPECT_NE(m.find("C_Login: CKR_PIN_INCORRECT"), std::string::npos) << m;
    EXPECT_NE(m.find("wrong PIN"), std::string::npos) << m;
    EXPECT_NE(m.find("'ses-test'"), std::string::npos) << m;
    EXPECT_EQ(m.find("314159"), std::string::npos) << m;
  }
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  EXPECT_TRUE(p->Wrap(Uri("master"), kDataKey, kNoAad).ok());
}

TEST_F(Pkcs11ProviderTest, MissingTokenIsNotFoundNamingIt) {
  auto p = NewProvider();
  auto r = p->Wrap("pkcs11:token=no-such-token;object=master?pin-value=87654321", kDataKey, kNoAad);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("'no-such-token'"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find(kUserPin), std::string::npos);
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());  // still serving
}

TEST_F(Pkcs11ProviderTest, MissingObjectOrVersionIsNotFoundNamingIt) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto w = p->Wrap(Uri("nope"), kDataKey, kNoAad);
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound) << w.status().ToString();
  EXPECT_NE(w.status().message().find("key 'nope'"), std::string::npos) << w.status().message();
  EXPECT_NE(w.status().message().find("not found"), std::string::npos);
  EXPECT_EQ(p->ListVersions(Uri("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(p->RotateKey(Uri("nope")).status().code(), StatusCode::kNotFound);

  auto good = p->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(good.ok());
  auto u = p->Unwrap(Uri("master"), "00000007", good->wrapped, kNoAad);
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound) << u.status().ToString();
  EXPECT_NE(u.status().message().find("key 'master' version 00000007"), std::string::npos)
      << u.status().message();
  auto bad = p->Unwrap(Uri("master"), "xyz", good->wrapped, kNoAad);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().ToString();
}

TEST_F(Pkcs11ProviderTest, DeletedKeyIsNotFoundAndOtherKeysKeepWorking) {
  auto p = NewProvider();
  ASSERT_TRUE(p->CreateKey(Uri("doomed")).ok());
  ASSERT_TRUE(p->CreateKey(Uri("kept")).ok());
  auto doomed = p->Wrap(Uri("doomed"), kDataKey, kNoAad);  // its handle is cached now
  ASSERT_TRUE(doomed.ok());
  ASSERT_TRUE(Pkcs11Tool("--delete-object --type secrkey --label doomed"));

  auto w = p->Wrap(Uri("doomed"), kDataKey, kNoAad);
  EXPECT_EQ(w.status().code(), StatusCode::kNotFound) << w.status().ToString();
  EXPECT_NE(w.status().message().find("'doomed'"), std::string::npos) << w.status().message();
  auto u = p->Unwrap(Uri("doomed"), doomed->key_version, doomed->wrapped, kNoAad);
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound) << u.status().ToString();

  auto kept = p->Wrap(Uri("kept"), kDataKey, kNoAad);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  auto back = p->Unwrap(Uri("kept"), kept->key_version, kept->wrapped, kNoAad);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToBytes(*back), kDataKey);
}

TEST_F(Pkcs11ProviderTest, MechanismTheKeyCannotUseIsFailedPrecondition) {
  auto aes = NewProvider({{"mechanism", "rsa-oaep"}});
  ASSERT_TRUE(NewProvider()->CreateKey(Uri("master")).ok());
  auto r = aes->Wrap(Uri("master"), kDataKey, kNoAad);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("rsa-oaep"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'ses-test'"), std::string::npos) << r.status().message();
  EXPECT_EQ(aes->CreateKey(Uri("other")).status().code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(Pkcs11Tool("--keypairgen --key-type rsa:2048 --label rsa --id 02"));
  auto kwp = NewProvider({{"mechanism", "aes-key-wrap-pad"}});
  auto rsa = kwp->Wrap(Uri("rsa", ";type=private-key"), kDataKey, kNoAad);
  EXPECT_EQ(rsa.status().code(), StatusCode::kFailedPrecondition) << rsa.status().ToString();
  EXPECT_NE(rsa.status().message().find("aes-key-wrap-pad"), std::string::npos);
  EXPECT_TRUE(kwp->Wrap(Uri("master"), kDataKey, kNoAad).ok());  // keeps serving
}

TEST_F(Pkcs11ProviderTest, CorruptedWrappedKeyIsInvalidArgumentNamingTheCall) {
  for (const char* mechanism : {"aes-key-wrap-pad", "aes-key-wrap", "aes-gcm"}) {
    SCOPED_TRACE(mechanism);
    auto p = NewProvider({{"mechanism", mechanism}});
    const std::string label = std::string("k-") + mechanism;
    ASSERT_TRUE(p->CreateKey(Uri(label)).ok());
    auto w = p->Wrap(Uri(label), kDataKey, kNoAad);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    // A damaged mechanism tag names another mechanism or none: refused,
    // never unwrapped.
    Bytes bad_tag = w->wrapped;
    bad_tag[0] ^= 0x01;
    auto t = p->Unwrap(Uri(label), "00000001", bad_tag, kNoAad);
    EXPECT_TRUE(t.status().code() == StatusCode::kInvalidArgument ||
                t.status().code() == StatusCode::kFailedPrecondition)
        << t.status().ToString();
    for (size_t at : {size_t{1}, w->wrapped.size() / 2, w->wrapped.size() - 1}) {
      Bytes bad = w->wrapped;
      bad[at] ^= 0x01;
      auto r = p->Unwrap(Uri(label), "00000001", bad, kNoAad);
      ASSERT_FALSE(r.ok()) << at;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
      EXPECT_NE(r.status().message().find(": CKR_"), std::string::npos) << r.status().message();
      EXPECT_NE(r.status().message().find("key '" + label + "' version 00000001"), std::string::npos)
          << r.status().message();
    }
    Bytes truncated(w->wrapped.begin(), w->wrapped.end() - 8);
    EXPECT_EQ(p->Unwrap(Uri(label), "00000001", truncated, kNoAad).status().code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(p->Unwrap(Uri(label), "00000001", Bytes{}, kNoAad).status().code(),
              StatusCode::kInvalidArgument);
    auto ok = p->Unwrap(Uri(label), "00000001", w->wrapped, kNoAad);  // still serving
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ToBytes(*ok), kDataKey);
  }
}

TEST_F(Pkcs11ProviderTest, PinFromTheConfigsPinFile) {
  const std::string path = WriteFile("user.pin", std::string(kUserPin) + "\n", 0600);
  auto p = NewProvider({{"pin_file", path}});
  ASSERT_NE(p, nullptr);
  // The first login of this process: the PIN can only come from the file.
  auto made = p->CreateKey(UriWithoutPin("master"));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto w = p->Wrap(UriWithoutPin("master"), kDataKey, kNoAad);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
}

TEST_F(Pkcs11ProviderTest, PinFileReadableByOthersIsRefused) {
  const std::string path = WriteFile("user.pin", kUserPin, 0644);
  auto p = Pkcs11Provider::Create({{"pin_file", path}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kPermissionDenied) << p.status().ToString();
  EXPECT_NE(p.status().message().find(path), std::string::npos);
  EXPECT_NE(p.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(p.status().message().find(kUserPin), std::string::npos);
  // Made readable after the provider started: refused at login.
  const std::string later = WriteFile("later.pin", kUserPin, 0600);
  auto q = NewProvider({{"pin_file", later}});
  ASSERT_EQ(::chmod(later.c_str(), 0640), 0);
  auto r = q->ListVersions(UriWithoutPin("master"));
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
}

TEST_F(Pkcs11ProviderTest, PinFromAnEnvironmentVariable) {
  auto unset = NewProvider({{"pin_env", "SES_PKCS11_TEST_PIN"}});
  ::unsetenv("SES_PKCS11_TEST_PIN");
  auto r = unset->ListVersions(UriWithoutPin("master"));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("SES_PKCS11_TEST_PIN"), std::string::npos);

  ASSERT_EQ(::setenv("SES_PKCS11_TEST_PIN", kUserPin, 1), 0);
  auto p = NewProvider({{"pin_env", "SES_PKCS11_TEST_PIN"}});
  auto made = p->CreateKey(UriWithoutPin("master"));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(p->Wrap(UriWithoutPin("master"), kDataKey, kNoAad).ok());
  ::unsetenv("SES_PKCS11_TEST_PIN");
}

TEST_F(Pkcs11ProviderTest, PinSourceAsAFileUriAndLoginSharedByTheProcess) {
  // Written as a shell would, readable by others: pin-source is the URI
  // author's choice and not held to pin_file's owner-only rule.
  const std::string path = WriteFile("user.pin", std::string(kUserPin) + "\n", 0644);
  auto p = NewProvider();
  auto made = p->CreateKey(UriWithoutPin("master") + "?pin-source=file://" + path);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(*made, UriWithoutPin("master") + "?pin-source=file://" + path);
  // Login state belongs to the process: another provider on the token needs
  // no PIN while this one keeps its sessions (and is not asked for one).
  auto q = NewProvider();
  auto w = q->Wrap(UriWithoutPin("master") + "?pin-source=" + dir_ + "/none.pin", kDataKey, kNoAad);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
}

TEST_F(Pkcs11ProviderTest, NoPinAnywhereIsAClearError) {
  auto p = NewProvider();
  auto r = p->ListVersions(UriWithoutPin("master"));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("no PIN for token 'ses-test'"), std::string::npos)
      << r.status().message();
  auto missing = p->ListVersions(UriWithoutPin("master") + "?pin-source=" + dir_ + "/none.pin");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find(dir_ + "/none.pin"), std::string::npos);
}

TEST_F(Pkcs11ProviderTest, BadUriIsInvalidArgumentAndNeverShowsAPinValue) {
  auto p = NewProvider();
  for (const std::string uri :
       {"pkcs11:object=master?pin-value=secret-1234", "pkcs11:token=ses-test?pin-value=secret-1234",
        "pkcs11:token=ses-test;object=m;type=cert?pin-value=secret-1234",
        "pkcs11:token=ses-test;object=m;color=red?pin-value=secret-1234",
        "pkcs11:token=ses-test;object=m%zz?pin-value=secret-1234", "keyfile://x"}) {
    auto r = p->Wrap(uri, kDataKey, kNoAad);
    ASSERT_FALSE(r.ok()) << uri;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find("pkcs11: bad key URI '"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("secret-1234"), std::string::npos) << r.status().message();
  }
}

TEST_F(Pkcs11ProviderTest, HealthIsOkForAnOpenTokenAndModuleUsesGetFunctionList) {
  auto p = NewProvider();
  EXPECT_TRUE(p->Health().ok());
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  Status h = p->Health();
  EXPECT_TRUE(h.ok()) << h.ToString();
  auto m = Module::Get(kModule);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE((*m)->via_get_interface());  // SoftHSM2 2.6 is PKCS#11 2.40
  EXPECT_EQ((*m)->fn()->version.major, 2);
}

// OpenSC's pkcs11-spy is a PKCS#11 3.0 module (it exports C_GetInterface)
// that logs every call and forwards it to the module named in PKCS11SPY:
// SoftHSM2 here. So the 3.0 loading path is exercised end to end.
TEST_F(Pkcs11ProviderTest, APkcs11ThreeModuleIsLoadedThroughCGetInterface) {
  const std::string spy = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so";
  if (::access(spy.c_str(), R_OK) != 0) GTEST_SKIP() << spy << " is not installed (opensc-pkcs11)";
  const std::string log = dir_ + "/spy.log";
  ASSERT_EQ(::setenv("PKCS11SPY", kModule, 1), 0);
  ASSERT_EQ(::setenv("PKCS11SPY_OUTPUT", log.c_str(), 1), 0);
  auto p = NewProvider({{"module", spy}});
  ASSERT_TRUE(p->CreateKey(Uri("master")).ok());
  auto w = p->Wrap(Uri("master"), kDataKey, kNoAad);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto u = p->Unwrap(Uri("master"), w->key_version, w->wrapped, kNoAad);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(ToBytes(*u), kDataKey);
  auto m = Module::Get(spy);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->via_get_interface());
  // Its default "PKCS 11" interface mirrors the 2.40 module behind it.
  EXPECT_GE((*m)->fn()->version.major, 2);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("C_GetInterface"), std::string::npos);
  EXPECT_NE(text.find("C_UnwrapKey"), std::string::npos);
}

}  // namespace
}  // namespace ses::pkcs11
