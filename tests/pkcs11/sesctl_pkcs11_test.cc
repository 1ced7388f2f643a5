// sesctl end to end on a SoftHSM2 token, as an operator runs it: init with a
// pkcs11: key URI, encrypt and decrypt, keys create/rotate/list, reencrypt,
// keyrings mixing the token and a key file, and the one-line errors of a
// wrong PIN, a missing token and a missing key. No PIN is ever printed.
//
// SoftHSM2 runs only in the sesctl and pkcs11-tool children here; the test
// process points them at its rig through SOFTHSM2_CONF.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "softhsm_rig.h"

namespace ses {
namespace {

using testing::Identity;
using testing::LineCount;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RigOptions;
using testing::RunProcess;
using testing::SoftHsmRig;
using testing::WriteFile;

#define START_RIG(...)                    \
  do {                                    \
    Start(__VA_ARGS__);                   \
    if (HasFatalFailure()) return;        \
  } while (0)

class Pkcs11SesctlTest : public ::testing::Test {
 protected:
  void Start(RigOptions options = {}) {
    ASSERT_TRUE(std::filesystem::exists(testing::kPkcs11Plugin))
        << testing::kPkcs11Plugin << " was not built (plugins/pkcs11 is not in the build)";
    rig_.emplace(std::move(options));
    rig_->Activate();
    secrets_ = {rig_->user_pin(), rig_->so_pin()};
    plain_ = rig_->Join("plain.txt");
    WriteFile(plain_, plain_text_);
  }

  // Runs sesctl with `args`; whatever happens, no PIN may show.
  ProcessResult Sesctl(std::vector<std::string> args, const std::string& stdin_path = "") {
    args.insert(args.begin(), testing::kSesctl);
    ProcessResult r = RunProcess(args, stdin_path);
    for (const auto& secret : secrets_) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << "a PIN in the output of " << args[1];
      EXPECT_EQ(r.err.find(secret), std::string::npos) << "a PIN in the errors of " << args[1] << ": " << r.err;
    }
    return r;
  }
  ProcessResult With(const std::string& config, std::vector<std::string> args, const std::string& stdin_path = "") {
    args.insert(args.begin(), {"--config", config});
    return Sesctl(std::move(args), stdin_path);
  }

  // sesctl init <rig>/<name> [--key-uri URI]; returns the config path.
  std::string Init(const std::string& name, const std::string& uri = "") {
    std::vector<std::string> args = {"init", rig_->Join(name)};
    if (!uri.empty()) args.insert(args.end(), {"--key-uri", uri});
    ProcessResult r = Sesctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return rig_->Join(name + "/ses.conf");
  }

  // Encrypts plain.txt to <rig>/<name> under `keyring`, context app=hsm.
  void Seal(const std::string& config, const std::string& name, const std::string& keyring = "default") {
    ProcessResult r = With(config, {"encrypt", "--keyring", keyring, "--context", "app=hsm", "--in", plain_, "--out",
                                    rig_->Join(name)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ProcessResult Open(const std::string& config, const std::string& name) {
    return With(config, {"decrypt", "--context", "app=hsm", "--in", rig_->Join(name)});
  }
  void ExpectOpens(const std::string& config, const std::string& name) {
    ProcessResult r = Open(config, name);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(r.out == plain_text_) << name << ": decrypted " << r.out.size() << " bytes";
  }
  std::string Inspect(const std::string& config, const std::string& name) {
    ProcessResult r = With(config, {"inspect", "--in", rig_->Join(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // Exit 1, nothing on stdout, one line on stderr holding every fragment.
  static void ExpectOneLineError(const ProcessResult& r, const std::vector<std::string>& fragments) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out.size() << " bytes on stdout";
    EXPECT_EQ(LineCount(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("sesctl: ", 0), 0u) << r.err;
    for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "no '" << f << "' in: " << r.err;
  }

  // A config holding the keyfile config of `kf_config` plus `extra`.
  std::string CombinedConfig(const std::string& kf_config, const std::string& extra) {
    const std::string path = rig_->Join("combined.conf");
    WriteFile(path, ReadFile(kf_config) + extra);
    return path;
  }

  std::optional<SoftHsmRig> rig_;
  std::vector<std::string> secrets_;
  std::string plain_;
  const std::string plain_text_ = "attack at dawn\n" + std::string(100000, 'x');
};

TEST_F(Pkcs11SesctlTest, InitWithAPkcs11UriOfAPkcs11ToolKeyGivesAWorkingConfig) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->Uri("master");
  ProcessResult init = Sesctl({"init", rig_->Join("ses"), "--key-uri", uri});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("keyring 'default' on master key '" + Identity(uri) + "'"), std::string::npos) << init.out;
  const std::string config = rig_->Join("ses/ses.conf");
  const std::string text = ReadFile(config);
  EXPECT_NE(text.find("\nkey = " + uri + "\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("[provider.keyfile]"), std::string::npos) << text;

  Seal(config, "m.ses");
  ProcessResult back = With(config, {"decrypt", "--context", "app=hsm", "--in", rig_->Join("m.ses"), "--out",
                                     rig_->Join("back.txt")});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_TRUE(ReadFile(rig_->Join("back.txt")) == plain_text_);
  // Standard input and output too.
  ProcessResult piped = With(config, {"encrypt", "--context", "app=hsm"}, plain_);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  WriteFile(rig_->Join("piped.ses"), piped.out);
  ExpectOpens(config, "piped.ses");

  EXPECT_NE(Inspect(config, "m.ses").find("pkcs11 " + Identity(uri) + " version 01 ("), std::string::npos)
      << Inspect(config, "m.ses");
  ProcessResult list = With(config, {"keys", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out, Identity(uri) + ": 01 (current 01)\n");
  ProcessResult plugins = With(config, {"plugins"});
  EXPECT_NE(plugins.out.find("pkcs11\tkey-provider\t"), std::string::npos) << plugins.out;
}

TEST_F(Pkcs11SesctlTest, KeysCreateRotateListAndReencryptOnTheToken) {
  START_RIG();
  const std::string uri = rig_->Uri("master");
  // init needs a key that works, so the first key comes from a bare config.
  const std::string boot = rig_->Join("boot.conf");
  WriteFile(boot, "[plugins]\ndir = " + std::string(SES_TEST_PLUGIN_DIR) + "\n\n[keyring.default]\nkey = " + uri + "\n");
  ProcessResult created = With(boot, {"keys", "create", uri});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out.rfind("created pkcs11:", 0), 0u) << created.out;

  const std::string config = Init("ses", uri);
  Seal(config, "old.ses");
  EXPECT_NE(Inspect(config, "old.ses").find(" version 00000001 ("), std::string::npos);

  ProcessResult rotated = With(config, {"keys", "rotate", uri});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(rotated.out, "rotated " + Identity(uri) + ": new data keys now wrap under version 00000002\n");
  ProcessResult list = With(config, {"keys", "list"});
  EXPECT_EQ(list.out, Identity(uri) + ": 00000001 00000002 (current 00000002)\n") << list.err;

  Seal(config, "new.ses");
  EXPECT_NE(Inspect(config, "new.ses").find("pkcs11 " + Identity(uri) + " version 00000002 ("), std::string::npos)
      << Inspect(config, "new.ses");
  ProcessResult moved = With(config, {"reencrypt", "--in", rig_->Join("old.ses"), "--out", rig_->Join("moved.ses")});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(Inspect(config, "moved.ses").find(" version 00000002 ("), std::string::npos)
      << Inspect(config, "moved.ses");
  for (const char* m : {"old.ses", "new.ses", "moved.ses"}) ExpectOpens(config, m);

  // On the token: two AES-256 keys labelled 'master', CKA_ID 00000001 and
  // 00000002, sensitive and never extractable.
  ProcessResult objects = rig_->Pkcs11Tool({"--list-objects", "--type", "secrkey"});
  ASSERT_EQ(objects.exit_code, 0) << objects.err;
  for (const char* id : {"ID:         00000001", "ID:         00000002"}) {
    EXPECT_NE(objects.out.find(id), std::string::npos) << objects.out;
  }
  size_t keys = 0, locked = 0;
  for (size_t at = 0; (at = objects.out.find("label:      master\n", at)) != std::string::npos; ++at) ++keys;
  for (size_t at = 0; (at = objects.out.find("sensitive, always sensitive, never extractable", at)) != std::string::npos;
       ++at) {
    ++locked;
  }
  EXPECT_EQ(keys, 2u) << objects.out;
  EXPECT_EQ(locked, 2u) << objects.out;
}

TEST_F(Pkcs11SesctlTest, AnyKeyringOfPkcs11AndKeyfileDecryptsWithEitherAlone) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->Uri("master");
  const std::string kf_config = Init("kf");  // keyfile://master.key in <rig>/kf
  const std::string hsm_config = Init("hsm", uri);
  const std::string both = CombinedConfig(kf_config, "\n[keyring.both]\nmode = any\nkey = " + uri +
                                                         "\nkey = keyfile://master.key\n");
  Seal(both, "both.ses", "both");
  std::string header = Inspect(both, "both.ses");
  EXPECT_NE(header.find("keyring mode:   any"), std::string::npos) << header;
  EXPECT_NE(header.find("wrapped keys:   2"), std::string::npos) << header;
  EXPECT_NE(header.find("pkcs11 " + Identity(uri) + " version 01"), std::string::npos) << header;
  EXPECT_NE(header.find("keyfile keyfile://master.key version 1"), std::string::npos) << header;

  ExpectOpens(kf_config, "both.ses");  // the key file alone
  std::filesystem::rename(rig_->Join("kf/master.key"), rig_->Join("kf/master.key.away"));
  ExpectOpens(hsm_config, "both.ses");  // the token alone, the key file gone
}

TEST_F(Pkcs11SesctlTest, AllKeyringOfPkcs11AndKeyfileNeedsBoth) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->Uri("master");
  const std::string kf_config = Init("kf");
  const std::string hsm_config = Init("hsm", uri);
  const std::string both = CombinedConfig(kf_config, "\n[keyring.split]\nmode = all\nkey = " + uri +
                                                         "\nkey = keyfile://master.key\n");
  Seal(both, "split.ses", "split");
  EXPECT_NE(Inspect(both, "split.ses").find("keyring mode:   all"), std::string::npos);
  ExpectOpens(both, "split.ses");

  ExpectOneLineError(Open(kf_config, "split.ses"), {"needs every share; share 1 of 2", Identity(uri)});
  ExpectOneLineError(Open(hsm_config, "split.ses"), {"needs every share; share 2 of 2", "keyfile://master.key"});

  // The token's key deleted: the config still names it, the token says no.
  rig_->DeleteObject("master");
  ProcessResult gone = Open(both, "split.ses");
  ExpectOneLineError(gone, {"needs every share; share 1 of 2", Identity(uri), "not found"});
}

TEST_F(Pkcs11SesctlTest, WrongPinFileIsOneClearLine) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->Uri("master");
  const std::string config = Init("ses", uri);
  Seal(config, "m.ses");

  const std::string good_pin = rig_->user_pin(), wrong_pin = "wrong-pin-0000";
  secrets_.push_back(wrong_pin);
  WriteFile(rig_->user_pin_file(), wrong_pin);
  ExpectOneLineError(Open(config, "m.ses"), {"CKR_PIN_INCORRECT"});
  ExpectOneLineError(With(config, {"encrypt", "--in", plain_, "--out", rig_->Join("o.ses")}), {"CKR_PIN_INCORRECT"});
  EXPECT_FALSE(std::filesystem::exists(rig_->Join("o.ses")));
  ProcessResult init = Sesctl({"init", rig_->Join("other"), "--key-uri", uri});
  ExpectOneLineError(init, {"the new configuration does not work", "CKR_PIN_INCORRECT"});
  EXPECT_FALSE(std::filesystem::exists(rig_->Join("other/ses.conf")));
  EXPECT_FALSE(std::filesystem::exists(rig_->Join("other/ses.conf.new")));

  // A PIN file that is not there is named.
  const std::string absent = rig_->Join("absent.pin");
  ProcessResult no_file =
      Sesctl({"init", rig_->Join("other2"), "--key-uri", rig_->UriWithoutPin("master") + "?pin-source=" + absent});
  ExpectOneLineError(no_file, {absent});

  // The right PIN back: it works again.
  WriteFile(rig_->user_pin_file(), good_pin);
  ExpectOpens(config, "m.ses");
}

// The production shape: a key URI without PIN attributes (it is recorded in
// every message header), the PIN from [provider.pkcs11] pin_file or pin_env.
TEST_F(Pkcs11SesctlTest, PinFromTheConfigWithAPinlessUri) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  const std::string uri = rig_->UriWithoutPin("master");
  const std::string head = "[plugins]\ndir = " + std::string(SES_TEST_PLUGIN_DIR) + "\n\n[provider.pkcs11]\n";
  const std::string tail = "\n[keyring.default]\nkey = " + uri + "\n";
  const std::string by_file = rig_->Join("by-file.conf"), by_env = rig_->Join("by-env.conf");
  WriteFile(by_file, head + "pin_file = " + rig_->user_pin_file() + tail);
  WriteFile(by_env, head + "pin_env = SES_TEST_HSM_PIN" + tail);

  Seal(by_file, "m.ses");
  ExpectOpens(by_file, "m.ses");
  EXPECT_NE(Inspect(by_file, "m.ses").find("pkcs11 " + Identity(uri) + " version 01 ("), std::string::npos);

  ::setenv("SES_TEST_HSM_PIN", rig_->user_pin().c_str(), 1);
  ExpectOpens(by_env, "m.ses");
  ::unsetenv("SES_TEST_HSM_PIN");
  ExpectOneLineError(Open(by_env, "m.ses"), {"SES_TEST_HSM_PIN"});

  // A pin_file others can read is refused, naming it.
  ::chmod(rig_->user_pin_file().c_str(), 0644);
  ExpectOneLineError(Open(by_file, "m.ses"), {rig_->user_pin_file()});
  ::chmod(rig_->user_pin_file().c_str(), 0600);
  ExpectOpens(by_file, "m.ses");
}

TEST_F(Pkcs11SesctlTest, MissingTokenIsOneClearLine) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  ProcessResult init = Sesctl({"init", rig_->Join("bad"), "--key-uri",
                               "pkcs11:token=no-such-token;object=master?pin-source=" + rig_->user_pin_file()});
  ExpectOneLineError(init, {"the new configuration does not work", "no-such-token"});
  EXPECT_FALSE(std::filesystem::exists(rig_->Join("bad/ses.conf")));

  // A working config, then the token is gone: SoftHSM2 pointed at another rig.
  const std::string config = Init("ses", rig_->Uri("master"));
  Seal(config, "m.ses");
  SoftHsmRig other(RigOptions{.token = "other"});
  secrets_.insert(secrets_.end(), {other.user_pin(), other.so_pin()});
  other.Activate();
  ExpectOneLineError(Open(config, "m.ses"), {"ses-test"});
  ExpectOneLineError(With(config, {"encrypt", "--in", plain_}), {"ses-test"});
  rig_->Activate();
  ExpectOpens(config, "m.ses");
}

TEST_F(Pkcs11SesctlTest, MissingKeyObjectIsOneClearLine) {
  START_RIG(RigOptions{.aes_keys = {"master"}});
  ProcessResult init = Sesctl({"init", rig_->Join("bad"), "--key-uri", rig_->Uri("nope")});
  ExpectOneLineError(init, {"the new configuration does not work", "nope", "not found"});
  EXPECT_FALSE(std::filesystem::exists(rig_->Join("bad/ses.conf")));

  const std::string config = Init("ses", rig_->Uri("master"));
  Seal(config, "m.ses");
  rig_->DeleteObject("master");
  ExpectOneLineError(Open(config, "m.ses"), {"key 'master'", "not found"});
  ExpectOneLineError(With(config, {"encrypt", "--in", plain_}), {"key 'master'", "not found"});
  ExpectOneLineError(With(config, {"keys", "list"}), {"key 'master'", "not found"});
}

}  // namespace
}  // namespace ses
