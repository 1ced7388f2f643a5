// Units of the pkcs11 plugin that need no token: URIs and PINs, config,
// CKR names and codes, version order, and the choice of mechanism.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ckr.h"
#include "config.h"
#include "key_objects.h"
#include "uri.h"
#include "wrap_ops.h"

namespace ses::pkcs11 {
namespace {

KeyUri Parse(const std::string& text) {
  auto r = ParseKeyUri(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : KeyUri{};
}

std::string PinText(const std::optional<SecretBytes>& pin) {
  return pin.has_value() ? std::string(pin->data(), pin->data() + pin->size()) : "<none>";
}

TEST(Pkcs11KeyUriTest, ParsesTokenObjectIdTypeAndQueryAttributes) {
  KeyUri k = Parse(
      "pkcs11:token=ses%20test;object=master;id=%00%00%00%02;type=secret-key"
      "?pin-source=/run/ses/user.pin&module-path=/usr/lib/x.so");
  EXPECT_EQ(k.token.label, "ses test");
  EXPECT_EQ(k.object, "master");
  ASSERT_TRUE(k.id.has_value());
  EXPECT_EQ(*k.id, (std::vector<uint8_t>{0, 0, 0, 2}));
  EXPECT_EQ(k.object_class, static_cast<CK_OBJECT_CLASS>(CKO_SECRET_KEY));
  EXPECT_EQ(k.pin_source, "/run/ses/user.pin");
  EXPECT_EQ(k.module_path, "/usr/lib/x.so");
  EXPECT_FALSE(k.pin_value.has_value());
}

TEST(Pkcs11KeyUriTest, DefaultsToSecretKeysAndAcceptsBothSpellingsOfPrivateKey) {
  EXPECT_EQ(Parse("pkcs11:token=t;object=o").object_class, static_cast<CK_OBJECT_CLASS>(CKO_SECRET_KEY));
  EXPECT_EQ(Parse("pkcs11:token=t;object=o;type=private-key").object_class,
            static_cast<CK_OBJECT_CLASS>(CKO_PRIVATE_KEY));
  EXPECT_EQ(Parse("pkcs11:type=private-key;token=t;object=o").object_class,
            static_cast<CK_OBJECT_CLASS>(CKO_PRIVATE_KEY));
  EXPECT_EQ(Parse("pkcs11:token=t;object=o;type=private").object_class,
            static_cast<CK_OBJECT_CLASS>(CKO_PRIVATE_KEY));
  // Only the type segment is rewritten, never a label that looks like it.
  EXPECT_EQ(Parse("pkcs11:token=t;object=type=private-key").object, "type=private-key");
}

TEST(Pkcs11KeyUriTest, PinValueIsKeptAsSecretBytes) {
  KeyUri k = Parse("pkcs11:token=t;object=o?pin-value=12%2034");
  ASSERT_TRUE(k.pin_value.has_value());
  EXPECT_EQ(std::string(k.pin_value->data(), k.pin_value->data() + k.pin_value->size()), "12 34");
  EXPECT_EQ(k.shown.find("12"), std::string::npos) << k.shown;
}

TEST(Pkcs11KeyUriTest, PinSourceMayBeAFileUri) {
  EXPECT_EQ(Parse("pkcs11:token=t;object=o?pin-source=file:/p/pin").pin_source, "/p/pin");
  EXPECT_EQ(Parse("pkcs11:token=t;object=o?pin-source=file:///p/pin").pin_source, "/p/pin");
  EXPECT_EQ(Parse("pkcs11:token=t;object=o?pin-source=file://localhost/p/pin").pin_source, "/p/pin");
  EXPECT_EQ(Parse("pkcs11:token=t;object=o?pin-source=rel/pin").pin_source, "rel/pin");
}

TEST(Pkcs11KeyUriTest, BadUrisSayWhyAndNeverShowThePinValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"keyfile://x?pin-value=s3cret", "scheme"},
      {"pkcs11:object=o?pin-value=s3cret", "token="},
      {"pkcs11:token=t?pin-value=s3cret", "object="},
      {"pkcs11:token=t;object=o;type=cert?pin-value=s3cret", "type"},
      {"pkcs11:token=t;object=o;type=public?pin-value=s3cret", "type"},
      {"pkcs11:token=t;object=o;flavour=x?pin-value=s3cret", "unsupported"},
      {"pkcs11:token=t;object=o%zz?pin-value=s3cret", "encoding"},
      {"pkcs11:token=t;object=o?pin-value=s3cret&module-name=softhsm2", "module-name"},
      {"pkcs11:token=t;object=o?pin-value=s3cret&module-path=lib.so", "absolute"},
      {"pkcs11:token=t;object=o?pin-source=|/bin/cat&pin-value=s3cret", "programs"},
      {"pkcs11:token=t;object=o?pin-source=env:X&pin-value=s3cret", "file"},
      {"pkcs11:token=t;object=o?pin-source=file://host/p&pin-value=s3cret", "local"},
      {"pkcs11:token=t;object=o;id=?pin-value=s3cret", "id="},
      {"pkcs11:token=t;object=o;pin-value=s3cret", "query"},  // never in the recorded path
      {"pkcs11:token=t;object=o?PIN-VALUE=s3cret&x", ""},
      {std::string("pkcs11:token=t;object=o\0?pin-value=s3cret", 41), "NUL"},
  };
  for (const auto& [uri, why] : cases) {
    auto r = ParseKeyUri(uri);
    if (why.empty()) {  // parses (unknown query attributes are ignored), still redacted
      EXPECT_EQ(RedactUri(uri).find("s3cret"), std::string::npos);
      continue;
    }
    ASSERT_FALSE(r.ok()) << uri;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << uri;
    const std::string& m = r.status().message();
    EXPECT_EQ(m.rfind("pkcs11: bad key URI '", 0), 0u) << m;
    EXPECT_NE(m.find(why), std::string::npos) << uri << " -> " << m;
    EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
  }
}

TEST(Pkcs11KeyUriTest, RedactionAndPinRemoval) {
  EXPECT_EQ(RedactUri("pkcs11:token=t;object=o?pin-value=abc&module-path=/x"),
            "pkcs11:token=t;object=o?pin-value=***&module-path=/x");
  EXPECT_EQ(RedactUri("pkcs11:token=t\n;object=o?pin%2Dvalue=abc"), "pkcs11:token=t?;object=o?pin%2Dvalue=***");
  EXPECT_EQ(UriWithoutPinValue("pkcs11:token=t;object=o?pin-value=abc&module-path=/x"),
            "pkcs11:token=t;object=o?module-path=/x");
  EXPECT_EQ(UriWithoutPinValue("pkcs11:token=t;object=o?module-path=/x&pin-value=abc"),
            "pkcs11:token=t;object=o?module-path=/x");
  EXPECT_EQ(UriWithoutPinValue("pkcs11:token=t;object=o?pin-value=abc"), "pkcs11:token=t;object=o");
  EXPECT_EQ(UriWithoutPinValue("pkcs11:token=t;object=o"), "pkcs11:token=t;object=o");
}

TEST(Pkcs11TokenSelectorTest, MatchesOnTheFieldsGiven) {
  CK_TOKEN_INFO info{};
  std::memset(info.label, ' ', sizeof(info.label));
  std::memcpy(info.label, "ses-test", 8);
  std::memset(info.serialNumber, ' ', sizeof(info.serialNumber));
  std::memcpy(info.serialNumber, "abc", 3);
  auto selector = [](std::string label, std::string manufacturer, std::string serial) {
    return TokenSelector{std::move(label), std::move(manufacturer), "", std::move(serial)};
  };
  EXPECT_TRUE(selector("ses-test", "", "").Matches(info));
  EXPECT_TRUE(selector("ses-test", "", "abc").Matches(info));
  EXPECT_FALSE(selector("ses-test", "", "abd").Matches(info));
  EXPECT_FALSE(selector("ses-tes", "", "").Matches(info));
  EXPECT_NE(selector("a", "", "b").Key(), selector("a", "b", "").Key());
}

class Pkcs11PinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = ::testing::TempDir();
    std::string tmpl = base + (base.back() == '/' ? "" : "/") + "ses_pin_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ::unsetenv("SES_PIN_TEST");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    ::unsetenv("SES_PIN_TEST");
  }
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(Pkcs11PinTest, PrecedenceIsValueThenSourceThenEnvThenFile) {
  const std::string source = Write("source.pin", "from-source\n", 0644);
  const std::string file = Write("file.pin", "from-file\r\n", 0600);
  ::setenv("SES_PIN_TEST", "from-env", 1);
  PinSettings both{"SES_PIN_TEST", file};
  auto all = Parse("pkcs11:token=t;object=o?pin-value=from-value&pin-source=" + source);
  EXPECT_EQ(PinText(*ResolvePin(all, both)), "from-value");
  auto src = Parse("pkcs11:token=t;object=o?pin-source=" + source);
  EXPECT_EQ(PinText(*ResolvePin(src, both)), "from-source");
  auto none = Parse("pkcs11:token=t;object=o");
  EXPECT_EQ(PinText(*ResolvePin(none, both)), "from-env");
  ::unsetenv("SES_PIN_TEST");
  EXPECT_EQ(PinText(*ResolvePin(none, both)), "from-file");  // one \r\n dropped
  EXPECT_EQ(PinText(*ResolvePin(none, PinSettings{})), "<none>");
  auto unset = ResolvePin(none, PinSettings{"SES_PIN_TEST", ""});
  EXPECT_EQ(unset.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(unset.status().message().find("SES_PIN_TEST"), std::string::npos);
}

TEST_F(Pkcs11PinTest, PinFileMustBeOwnerOnlyNonEmptyAndPresent) {
  const std::string open = Write("open.pin", "1234", 0640);
  Status s = CheckPinFile(open);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "pkcs11: PIN file " + open +
                             " (pin_file) is accessible by group or others (mode 0640); chmod 600 it");
  EXPECT_TRUE(CheckPinFile(Write("ok.pin", "1234", 0400)).ok());
  EXPECT_EQ(CheckPinFile(dir_ + "/absent.pin").code(), StatusCode::kNotFound);
  EXPECT_EQ(CheckPinFile(dir_).code(), StatusCode::kFailedPrecondition);  // a directory
  auto none = Parse("pkcs11:token=t;object=o");
  auto empty = ResolvePin(none, PinSettings{"", Write("empty.pin", "\n", 0600)});
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);
  auto readable = ResolvePin(none, PinSettings{"", open});
  EXPECT_EQ(readable.status().code(), StatusCode::kPermissionDenied);
  auto big = ResolvePin(none, PinSettings{"", Write("big.pin", std::string(2000, '1'), 0600)});
  EXPECT_EQ(big.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Pkcs11ConfigTest, DefaultsAndEveryKey) {
  auto d = ParsePkcs11Config({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(d->pool_size, 4u);
  EXPECT_EQ(d->session_wait.count(), 5000);
  EXPECT_EQ(d->retries, 2);
  EXPECT_EQ(d->mechanism, Mechanism::kAuto);
  auto c = ParsePkcs11Config({{"module", "/opt/hsm.so"}, {"pin_env", "PIN"}, {"pin_file", "/p"},
                              {"pool_size", "9"}, {"session_wait_ms", "0"}, {"retries", "5"},
                              {"mechanism", "aes-gcm"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->module, "/opt/hsm.so");
  EXPECT_EQ(c->pin_env, "PIN");
  EXPECT_EQ(c->pool_size, 9u);
  EXPECT_EQ(c->session_wait.count(), 0);
  EXPECT_EQ(c->retries, 5);
  EXPECT_EQ(c->mechanism, Mechanism::kAesGcm);
}

TEST(Pkcs11ConfigTest, UnknownKeysAndBadValuesNameTheKey) {
  for (const PluginConfig& bad : std::vector<PluginConfig>{
           {{"pin", "1234"}}, {{"pool_size", "0"}}, {{"pool_size", "-1"}}, {{"pool_size", "4x"}},
           {{"session_wait_ms", ""}}, {{"retries", "11"}}, {{"mechanism", "des"}},
           {{"module", "relative.so"}}, {{"pin_env", ""}}}) {
    auto r = ParsePkcs11Config(bad);
    ASSERT_FALSE(r.ok()) << bad.begin()->first;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("'" + bad.begin()->first + "'"), std::string::npos)
        << r.status().message();
  }
}

TEST(Pkcs11CkrTest, NamesCodesAndRecovery) {
  EXPECT_EQ(CkrName(CKR_WRAPPED_KEY_INVALID), "CKR_WRAPPED_KEY_INVALID");
  EXPECT_EQ(CkrName(CKR_UNWRAPPING_KEY_HANDLE_INVALID), "CKR_UNWRAPPING_KEY_HANDLE_INVALID");
  EXPECT_EQ(CkrName(0x1f0), "CKR_0x000001f0");
  EXPECT_EQ(CkrName(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED+0x5");
  EXPECT_EQ(CkrCode(CKR_PIN_INCORRECT), StatusCode::kPermissionDenied);
  EXPECT_EQ(CkrCode(CKR_PIN_LOCKED), StatusCode::kPermissionDenied);
  EXPECT_EQ(CkrCode(CKR_ENCRYPTED_DATA_INVALID), StatusCode::kInvalidArgument);
  EXPECT_EQ(CkrCode(CKR_WRAPPED_KEY_LEN_RANGE), StatusCode::kInvalidArgument);
  EXPECT_EQ(CkrCode(CKR_KEY_FUNCTION_NOT_PERMITTED), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CkrCode(CKR_MECHANISM_INVALID), StatusCode::kFailedPrecondition);
  EXPECT_EQ(CkrCode(CKR_DEVICE_MEMORY), StatusCode::kUnavailable);
  EXPECT_EQ(CkrCode(CKR_SESSION_COUNT), StatusCode::kUnavailable);
  EXPECT_EQ(CkrCode(CKR_HOST_MEMORY), StatusCode::kUnavailable);
  EXPECT_EQ(CkrCode(CKR_ATTRIBUTE_VALUE_INVALID), StatusCode::kInternal);
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
                   CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR}) {
    EXPECT_TRUE(IsRecoverable(rv)) << CkrName(rv);
  }
  EXPECT_FALSE(IsRecoverable(CKR_PIN_INCORRECT));
  EXPECT_FALSE(IsRecoverable(CKR_WRAPPED_KEY_INVALID));

  Status s = CkrError("C_UnwrapKey", CKR_WRAPPED_KEY_INVALID, "token 'ses-test', key 'master' version 00000001");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "pkcs11: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID (token 'ses-test', key 'master' version 00000001)");
  Status pin = CkrError("C_Login", CKR_PIN_INCORRECT, "token 'ses-test'");
  EXPECT_EQ(pin.message(), "pkcs11: C_Login: CKR_PIN_INCORRECT (token 'ses-test': wrong PIN)");
}

TEST(Pkcs11VersionTest, HexStringsOrderedByNumericValue) {
  EXPECT_EQ(VersionString(std::vector<uint8_t>{0, 0, 0, 1}), "00000001");
  EXPECT_EQ(VersionString(std::vector<uint8_t>{0xab}), "ab");
  KeyUri k = Parse("pkcs11:token=t;object=o");
  EXPECT_EQ(*ParseVersion("00000001", k), (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(*ParseVersion("AB", k), (std::vector<uint8_t>{0xab}));
  for (const char* bad : {"", "1", "0g", "0x01", "00 01"}) {
    auto r = ParseVersion(bad, k);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  using V = std::vector<uint8_t>;
  EXPECT_TRUE(VersionLess(V{0x01}, V{0, 0, 0, 2}));        // 1 < 2 despite the length
  EXPECT_TRUE(VersionLess(V{0, 0, 0, 2}, V{0x03}));        // 2 < 3
  EXPECT_TRUE(VersionLess(V{0, 0, 0, 0xff}, V{0, 0, 1, 0}));
  EXPECT_FALSE(VersionLess(V{0x05}, V{0x05}));
  EXPECT_TRUE(VersionLess(V{0x01}, V{0, 0x01}));           // equal values: shorter first
  EXPECT_FALSE(VersionLess(V{0, 0x01}, V{0x01}));

  KeyVersions versions;
  EXPECT_EQ(*NextVersionId(versions, k), (V{0, 0, 0, 1}));
  versions.push_back(KeyObject{V{0x01}, "01"});
  EXPECT_EQ(*NextVersionId(versions, k), (V{0, 0, 0, 2}));
  versions.push_back(KeyObject{V{0, 0, 1, 0xff}, "000001ff"});
  EXPECT_EQ(*NextVersionId(versions, k), (V{0, 0, 2, 0}));
  versions.push_back(KeyObject{V{0xff, 0xff, 0xff, 0xff}, "ffffffff"});
  EXPECT_EQ(NextVersionId(versions, k).status().code(), StatusCode::kFailedPrecondition);
}

TEST(Pkcs11ChoosePlanTest, AutoPrefersKeyWrapPadThenKeyWrapThenGcm) {
  const CK_FLAGS both = CKF_WRAP | CKF_UNWRAP;
  auto plan = [](std::map<CK_MECHANISM_TYPE, CK_FLAGS> m, Mechanism configured = Mechanism::kAuto,
                 CK_KEY_TYPE type = CKK_AES) {
    return ChoosePlan(configured, type, Mechanisms(std::move(m)), "token 'x', key 'k'");
  };
  auto kwp = plan({{CKM_AES_KEY_WRAP_PAD, both}, {CKM_AES_KEY_WRAP, both}});
  ASSERT_TRUE(kwp.ok());
  EXPECT_EQ(kwp->mechanism, Mechanism::kAesKeyWrapPad);
  EXPECT_FALSE(kwp->kwp_exact);  // not probed: assume the worst
  Mechanisms probed(std::map<CK_MECHANISM_TYPE, CK_FLAGS>{{CKM_AES_KEY_WRAP_PAD, both}});
  probed.set_kwp_exact(true);
  auto exact = ChoosePlan(Mechanism::kAesKeyWrapPad, CKK_AES, probed, "t");
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->kwp_exact);
  auto kw = plan({{CKM_AES_KEY_WRAP_PAD, CKF_WRAP}, {CKM_AES_KEY_WRAP, both}});  // no unwrap
  ASSERT_TRUE(kw.ok());
  EXPECT_EQ(kw->mechanism, Mechanism::kAesKeyWrap);
  auto gcm = plan({{CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT}});
  ASSERT_TRUE(gcm.ok());
  EXPECT_EQ(gcm->mechanism, Mechanism::kAesGcm);
  EXPECT_TRUE(gcm->gcm_by_encrypt);
  auto gcm_wrap = plan({{CKM_AES_GCM, both | CKF_ENCRYPT | CKF_DECRYPT}});
  ASSERT_TRUE(gcm_wrap.ok());
  EXPECT_FALSE(gcm_wrap->gcm_by_encrypt);
  auto none = plan({{CKM_RSA_PKCS_OAEP, both}});
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);

  auto rsa = plan({{CKM_RSA_PKCS_OAEP, both}}, Mechanism::kAuto, CKK_RSA);
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(rsa->mechanism, Mechanism::kRsaOaep);
  EXPECT_TRUE(rsa->oaep_sha1_allowed);
  auto strict = plan({{CKM_RSA_PKCS_OAEP, both}}, Mechanism::kRsaOaep, CKK_RSA);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->oaep_sha1_allowed);
}

TEST(Pkcs11ChoosePlanTest, AMechanismTheTokenLacksIsNamedWithTheToken) {
  const CK_FLAGS both = CKF_WRAP | CKF_UNWRAP;
  Mechanisms only_kw(std::map<CK_MECHANISM_TYPE, CK_FLAGS>{{CKM_AES_KEY_WRAP, both}});
  auto r = ChoosePlan(Mechanism::kAesKeyWrapPad, CKK_AES, only_kw, "token 'hsm', key 'k'");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("CKM_AES_KEY_WRAP_PAD"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("token 'hsm'"), std::string::npos);
  EXPECT_EQ(ChoosePlan(Mechanism::kAesGcm, CKK_AES, only_kw, "t").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(ChoosePlan(Mechanism::kRsaOaep, CKK_RSA, only_kw, "t").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(ChoosePlan(Mechanism::kAesKeyWrap, CKK_RSA, only_kw, "t").status().code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace ses::pkcs11
