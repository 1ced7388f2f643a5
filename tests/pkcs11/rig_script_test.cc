// scripts/softhsm-rig.sh on its own: the files it writes, the token and keys
// it makes (checked with pkcs11-tool), what it prints, and what it refuses.
// None of this needs the pkcs11 plugin.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>

#include "softhsm_rig.h"

namespace ses {
namespace {

using testing::ProcessResult;
using testing::ReadFile;
using testing::RigOptions;
using testing::RunRigScript;
using testing::SoftHsmRig;
using testing::TempDir;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

TEST(RigScriptTest, MakesATokenWithPinFilesAndPrintsTheOperatorLines) {
  SoftHsmRig rig(RigOptions{.aes_keys = {"master", "ext"}, .rsa_keys = {"rsa"}});
  EXPECT_EQ(ModeOf(rig.user_pin_file()), 0600u);
  EXPECT_EQ(ModeOf(rig.so_pin_file()), 0600u);
  const std::string pin = rig.user_pin(), so_pin = rig.so_pin();
  // Random PINs: 16 bytes as hex, no newline, and not the same twice.
  EXPECT_TRUE(std::regex_match(pin, std::regex("[0-9a-f]{32}"))) << pin.size();
  EXPECT_TRUE(std::regex_match(so_pin, std::regex("[0-9a-f]{32}")));
  EXPECT_NE(pin, so_pin);

  std::string conf = ReadFile(rig.conf());
  EXPECT_NE(conf.find("directories.tokendir = " + rig.Join("tokens") + "\n"), std::string::npos) << conf;
  EXPECT_NE(conf.find("objectstore.backend = file\n"), std::string::npos);
  EXPECT_NE(conf.find("log.level = ERROR\n"), std::string::npos);

  EXPECT_EQ(rig.printed(), (std::vector<std::string>{
                               "export SOFTHSM2_CONF=" + rig.conf(),
                               rig.Uri("master"),
                               rig.Uri("ext"),
                               "pkcs11:token=ses-test;object=rsa;type=private-key?pin-source=" + rig.user_pin_file(),
                           }));
  EXPECT_EQ(rig.Uri("master"), "pkcs11:token=ses-test;object=master?pin-source=" + rig.dir() + "/user.pin");

  ProcessResult list = rig.Pkcs11Tool({"--list-objects"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* label : {"label:      master", "label:      ext", "label:      rsa"}) {
    EXPECT_NE(list.out.find(label), std::string::npos) << label << "\n" << list.out;
  }
  // Secret keys: AES-256, sensitive, never extractable, usable to wrap and unwrap.
  size_t at = list.out.find("label:      master");
  std::string master = list.out.substr(list.out.rfind("Secret Key Object; AES length 32", at));
  EXPECT_NE(master.find("ID:         01"), std::string::npos) << master;
  EXPECT_NE(master.find("wrap, unwrap"), std::string::npos) << master;
  EXPECT_NE(master.find("sensitive, always sensitive, never extractable"), std::string::npos) << master;
  EXPECT_NE(list.out.find("Private Key Object; RSA"), std::string::npos);
  EXPECT_NE(list.out.find("Public Key Object; RSA 2048 bits"), std::string::npos);
}

TEST(RigScriptTest, UsesTheGivenTokenLabelAndPins) {
  TempDir dir;
  ProcessResult r = RunRigScript({dir.Join("rig"), "--token", "other", "--pin", "user-1234", "--so-pin", "so-5678"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.Join("rig/user.pin")), "user-1234");
  EXPECT_EQ(ReadFile(dir.Join("rig/so.pin")), "so-5678");
  // Without keys it still names the URI of a key called 'master' to create.
  std::string dir_path = std::filesystem::canonical(dir.Join("rig")).string();
  EXPECT_EQ(r.out, "export SOFTHSM2_CONF=" + dir_path + "/softhsm2.conf\npkcs11:token=other;object=master?pin-source=" +
                       dir_path + "/user.pin\n");
  EXPECT_EQ(r.out.find("user-1234"), std::string::npos);
  EXPECT_EQ(r.err.find("user-1234"), std::string::npos);
  EXPECT_EQ(r.err.find("so-5678"), std::string::npos);

  ::setenv("SOFTHSM2_CONF", (dir_path + "/softhsm2.conf").c_str(), 1);
  ProcessResult slots = testing::RunProcess({"/usr/bin/pkcs11-tool", "--module", testing::kSoftHsmModule, "-L"});
  ASSERT_EQ(slots.exit_code, 0) << slots.err;
  EXPECT_NE(slots.out.find("token label        : other"), std::string::npos) << slots.out;
  EXPECT_NE(slots.out.find("PIN initialized"), std::string::npos) << slots.out;
}

TEST(RigScriptTest, NeverPrintsTheRandomPins) {
  TempDir dir;
  ProcessResult r = RunRigScript({dir.Join("rig"), "--aes-key", "k"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"rig/user.pin", "rig/so.pin"}) {
    std::string pin = ReadFile(dir.Join(f));
    ASSERT_FALSE(pin.empty());
    EXPECT_EQ(r.out.find(pin), std::string::npos) << f;
    EXPECT_EQ(r.err.find(pin), std::string::npos) << f;
  }
}

TEST(RigScriptTest, RefusesANonEmptyTokenDirectory) {
  TempDir dir;
  ProcessResult first = RunRigScript({dir.Join("rig"), "--aes-key", "master"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string pin = ReadFile(dir.Join("rig/user.pin"));
  const std::string conf = ReadFile(dir.Join("rig/softhsm2.conf"));

  ProcessResult again = RunRigScript({dir.Join("rig"), "--token", "other"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.out, "");
  EXPECT_NE(again.err.find("tokens is not empty"), std::string::npos) << again.err;
  EXPECT_EQ(testing::LineCount(again.err), 1u) << again.err;
  // Nothing of the first rig was touched.
  EXPECT_EQ(ReadFile(dir.Join("rig/user.pin")), pin);
  EXPECT_EQ(ReadFile(dir.Join("rig/softhsm2.conf")), conf);
}

TEST(RigScriptTest, RejectsBadArgumentsBeforeTouchingAnything) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {{}, 2, "usage"},
           {{dir.Join("x"), "--bogus"}, 1, "unknown argument '--bogus'"},
           {{dir.Join("x"), "--aes-key"}, 1, "--aes-key needs a value"},
           {{dir.Join("x"), "--pin", "123"}, 1, "4 to 255 characters"},
           {{dir.Join("x"), "--token", std::string(33, 't')}, 1, "longer than 32 characters"},
           {{"--pin", "1234"}, 1, "the first argument must be DIR"},
       }) {
    ProcessResult r = RunRigScript(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.Join("x")));
  }
}

}  // namespace
}  // namespace ses
