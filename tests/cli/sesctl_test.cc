// sesctl end to end, as a user runs it: init, then every command, and the
// errors each bad input gets (one line on stderr, non-zero exit, no output).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "process.h"
#include "test_env.h"

namespace ses {
namespace {

using testing::kSesctl;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunSesctl;
using testing::TempDir;
using testing::WriteFile;

class SesctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessResult r = RunSesctl({"init", dir_.Join("ses")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    config_ = dir_.Join("ses/ses.conf");
    WriteFile(dir_.Join("plain.txt"), plain_);
  }

  ProcessResult Run(std::vector<std::string> args, const std::string& stdin_path = "") {
    args.insert(args.begin(), {"--config", config_});
    return RunSesctl(args, stdin_path);
  }
  ProcessResult RunWith(const std::string& config, std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config});
    return RunSesctl(args);
  }

  // Encrypts plain.txt to `name` with context app=test.
  void Seal(const std::string& name) {
    ProcessResult r = Run({"encrypt", "--context", "app=test", "--in", dir_.Join("plain.txt"), "--out", dir_.Join(name)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // No temporary or partial output is left beside `path`.
  bool NothingBeside(const std::string& path) {
    if (std::filesystem::exists(path)) return false;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
      if (e.path().filename().string().rfind(std::filesystem::path(path).filename().string(), 0) == 0) return false;
    }
    return true;
  }

  std::string MasterKeyHex() {
    std::string key = ReadFile(dir_.Join("ses/master.key"));
    return key.substr(key.rfind(' ') + 1, 64);
  }

  TempDir dir_;
  std::string config_;
  const std::string plain_ = "attack at dawn\n" + std::string(200000, 'x');
};

TEST_F(SesctlTest, InitWritesAPrivateWorkingConfigAndRefusesToOverwrite) {
  struct stat st {};
  ASSERT_EQ(stat(config_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir_.Join("ses/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ProcessResult again = RunSesctl({"init", dir_.Join("ses")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST_F(SesctlTest, InitPrintsTheNextCommands) {
  TempDir other;
  ProcessResult r = RunSesctl({"init", other.Join("x")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("encrypt --context"), std::string::npos);
  EXPECT_NE(r.out.find("decrypt --context"), std::string::npos);
  EXPECT_NE(r.out.find("keys rotate"), std::string::npos);
}

TEST_F(SesctlTest, InitWithAKeyUriUsesThatKey) {
  TempDir other;
  ProcessResult r = RunSesctl({"init", other.Join("x"), "--key-uri", "keyfile://" + dir_.Join("ses/master.key")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(other.Join("x/master.key")));
  std::string other_config = other.Join("x/ses.conf");
  ProcessResult e = RunWith(other_config, {"encrypt", "--in", dir_.Join("plain.txt"), "--out", dir_.Join("o.ses")});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  ProcessResult bad = RunSesctl({"init", other.Join("y"), "--key-uri", "keyfile://" + dir_.Join("nope.key")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("nope.key"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(other.Join("y/ses.conf")));
}

TEST_F(SesctlTest, EncryptThenDecryptRestoresTheFile) {
  Seal("m.ses");
  ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join("m.ses"), "--out", dir_.Join("back.txt")});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(ReadFile(dir_.Join("back.txt")), plain_);
  // Standard input and output work too.
  ProcessResult s = Run({"decrypt", "--context", "app=test"}, dir_.Join("m.ses"));
  ASSERT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.out, plain_);
}

TEST_F(SesctlTest, TamperedMessageFailsAndLeavesNoOutputFile) {
  Seal("m.ses");
  std::string sealed = ReadFile(dir_.Join("m.ses"));
  for (size_t pos : {size_t{20}, sealed.size() / 2, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[pos] = static_cast<char>(bad[pos] ^ 1);
    WriteFile(dir_.Join("bad.ses"), bad);
    ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join("bad.ses"), "--out", dir_.Join("out.txt")});
    EXPECT_EQ(d.exit_code, 1);
    EXPECT_EQ(d.err, "sesctl: decrypt: authentication failed\n");
    EXPECT_TRUE(NothingBeside(dir_.Join("out.txt")));
  }
}

TEST_F(SesctlTest, TruncatedMessageFailsAndLeavesNoOutputFile) {
  Seal("m.ses");
  std::string sealed = ReadFile(dir_.Join("m.ses"));
  auto h = Engine::Inspect(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size()));
  ASSERT_TRUE(h.ok());
  // Cut after the first (regular) frame: a valid prefix of a longer message.
  size_t cut = h->header_size + 1 + 65536 + 16;
  ASSERT_LT(cut, sealed.size());
  WriteFile(dir_.Join("short.ses"), sealed.substr(0, cut));
  ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join("short.ses"), "--out", dir_.Join("out.txt")});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_EQ(d.err, "sesctl: decrypt: authentication failed\n");
  EXPECT_TRUE(NothingBeside(dir_.Join("out.txt")));
}

TEST_F(SesctlTest, WrongContextAndUnknownKeyringAreNamed) {
  Seal("m.ses");
  ProcessResult d = Run({"decrypt", "--context", "app=other", "--in", dir_.Join("m.ses"), "--out", dir_.Join("o")});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("encryption context does not match"), std::string::npos) << d.err;
  EXPECT_TRUE(NothingBeside(dir_.Join("o")));
  ProcessResult e = Run({"encrypt", "--keyring", "nope", "--in", dir_.Join("plain.txt")});
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_EQ(e.err, "sesctl: encrypt: unknown keyring 'nope'\n");
}

TEST_F(SesctlTest, MissingMasterKeyIsNamed) {
  Seal("m.ses");
  std::filesystem::remove(dir_.Join("ses/master.key"));
  ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join("m.ses")});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find(dir_.Join("ses/master.key")), std::string::npos) << d.err;
  EXPECT_EQ(std::count(d.err.begin(), d.err.end(), '\n'), 1);
}

TEST_F(SesctlTest, RotateThenReEncryptMovesAMessageToTheNewVersion) {
  Seal("old.ses");
  ProcessResult rot = Run({"keys", "rotate", "keyfile://master.key"});
  ASSERT_EQ(rot.exit_code, 0) << rot.err;
  EXPECT_NE(rot.out.find("version 2"), std::string::npos);
  ProcessResult list = Run({"keys", "list"});
  EXPECT_EQ(list.out, "keyfile://master.key: 1 2 (current 2)\n");

  Seal("new.ses");
  EXPECT_NE(Run({"inspect", "--in", dir_.Join("new.ses")}).out.find("version 2"), std::string::npos);
  EXPECT_NE(Run({"inspect", "--in", dir_.Join("old.ses")}).out.find("version 1"), std::string::npos);

  ProcessResult re = Run({"reencrypt", "--in", dir_.Join("old.ses"), "--out", dir_.Join("moved.ses")});
  ASSERT_EQ(re.exit_code, 0) << re.err;
  EXPECT_NE(Run({"inspect", "--in", dir_.Join("moved.ses")}).out.find("version 2"), std::string::npos);
  for (const char* f : {"old.ses", "new.ses", "moved.ses"}) {
    ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join(f)});
    EXPECT_EQ(d.exit_code, 0) << f << ": " << d.err;
    EXPECT_EQ(d.out, plain_) << f;
  }
}

TEST_F(SesctlTest, InspectAndPluginsPrintNoSecrets) {
  Seal("m.ses");
  ProcessResult i = Run({"inspect", "--in", dir_.Join("m.ses")});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_NE(i.out.find("suite:          aes-256-gcm"), std::string::npos);
  EXPECT_NE(i.out.find("app = test"), std::string::npos);
  EXPECT_EQ(i.out.find(MasterKeyHex()), std::string::npos);
  ProcessResult p = Run({"plugins"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("keyfile\tkey-provider\t0.1.0\tABI 1.0"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("cipher-openssl\tcipher\t0.1.0\tABI 1.0"), std::string::npos) << p.out;
}

TEST_F(SesctlTest, AllKeyringNeedsBothKeys) {
  ASSERT_EQ(Run({"keys", "create", "keyfile://second.key"}).exit_code, 0);
  std::string conf = ReadFile(config_);
  conf += "\n[keyring.split]\nmode = all\nkey = keyfile://master.key\nkey = keyfile://second.key\n";
  WriteFile(config_, conf);
  ProcessResult e = Run({"encrypt", "--keyring", "split", "--in", dir_.Join("plain.txt"), "--out", dir_.Join("s.ses")});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(Run({"decrypt", "--in", dir_.Join("s.ses")}).out, plain_);
  std::filesystem::remove(dir_.Join("ses/second.key"));
  ProcessResult d = Run({"decrypt", "--in", dir_.Join("s.ses"), "--out", dir_.Join("o")});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("needs every share"), std::string::npos) << d.err;
  EXPECT_NE(d.err.find("second.key"), std::string::npos) << d.err;
  EXPECT_TRUE(NothingBeside(dir_.Join("o")));
}

struct BadConfig {
  const char* name;
  const char* text;
  const char* error;  // expected fragment of the one stderr line
};

class BadConfigTest : public SesctlTest, public ::testing::WithParamInterface<BadConfig> {};

TEST_P(BadConfigTest, ErrorNamesFileAndLine) {
  std::string conf = ReadFile(config_) + GetParam().text;
  WriteFile(config_, conf);
  ProcessResult r = Run({"encrypt", "--in", dir_.Join("plain.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(config_ + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(GetParam().error), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// Each appended text starts after the init config's last line (23).
INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadConfig{"UnknownKey", "\n[keyring.x]\nkey = keyfile://master.key\ncolour = blue\n", ":27: unknown key 'colour' in [keyring.x]"},
        BadConfig{"BadMode", "\n[keyring.x]\nmode = some\nkey = keyfile://master.key\n", ":26: bad value 'some' for mode"},
        BadConfig{"BadFrameSize", "\n[keyring.x]\nkey = keyfile://a\nframe_size = 3\n", ":27: bad value '3' for frame_size"},
        BadConfig{"BadSuite", "\n[keyring.x]\nkey = keyfile://a\nsuite = rot13\n", ":27: unknown suite 'rot13'"},
        BadConfig{"UnknownSection", "\n[colours]\nsky = blue\n", ":25: unknown section [colours]"},
        BadConfig{"MalformedLine", "\n[keyring.x]\njust words\n", ":26: expected 'key = value'"},
        BadConfig{"KeyringWithoutKeys", "\n[keyring.empty]\nmode = any\n", ":25: keyring 'empty' has no 'key = URI' line"},
        BadConfig{"BadCacheValue", "\n[keyring.x]\nkey = keyfile://a\n[cache2]\n", ":27: unknown section [cache2]"},
        BadConfig{"InlineComment", "\n[keyring.x]\nkey = keyfile://master.key # main\n", ":26: '#' cannot appear in a value"},
        BadConfig{"EmptyKeyring", "\n[keyring.empty]\n", ":25: keyring 'empty' has no 'key = URI' line"},
        BadConfig{"UnknownScheme", "\n[keyring.x]\nkey = nosuch://k\n", ":25: [keyring.x]: no loaded key-provider plugin serves 'nosuch:' URIs"},
        BadConfig{"SameKeyTwice", "\n[keyring.x]\nkey = keyfile://master.key\nkey = keyfile://master.key\n", ":25: [keyring.x]: keyring 'x' names master key keyfile://master.key twice"},
        BadConfig{"RepeatedSetting", "\n[keyring.x]\nkey = keyfile://a\nmode = any\nmode = all\n", ":28: 'mode' is set twice in [keyring.x]"},
        BadConfig{"DuplicateSection", "\n[provider.keyfile]\nshade = dark\n", ":25: section [provider.keyfile] appears twice"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(SesctlTest, PluginConfigErrorNamesTheKeyLine) {
  std::string conf = ReadFile(config_);
  size_t at = conf.find("[provider.keyfile]\n");
  ASSERT_NE(at, std::string::npos);
  conf.insert(at + 19, "shade = dark\n");
  WriteFile(config_, conf);
  int line = 1 + static_cast<int>(std::count(conf.begin(), conf.begin() + static_cast<ptrdiff_t>(at) + 19, '\n'));
  ProcessResult r = Run({"encrypt", "--in", dir_.Join("plain.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(config_ + ":" + std::to_string(line) + ": [provider.keyfile]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown config key 'shade'"), std::string::npos) << r.err;
}

// A decrypt killed half way leaves no temporary file of partial plaintext.
TEST_F(SesctlTest, KilledDecryptLeavesNoTemporaryFile) {
  Seal("m.ses");
  std::string sealed = ReadFile(dir_.Join("m.ses"));
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[1]);
    execl(kSesctl.c_str(), kSesctl.c_str(), "--config", config_.c_str(), "decrypt", "--context", "app=test", "--out",
          dir_.Join("out.txt").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  // Send all but the last bytes: decrypt writes verified frames to its
  // temporary file and waits for the rest.
  ASSERT_EQ(write(in[1], sealed.data(), sealed.size() - 10), static_cast<ssize_t>(sealed.size() - 10));
  auto temp_exists = [&] {
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      if (e.path().filename().string().rfind("out.txt.tmp.", 0) == 0) return true;
    }
    return false;
  };
  for (int i = 0; i < 100000 && !temp_exists(); ++i) usleep(1000);  // bounded wait for a condition
  ASSERT_TRUE(temp_exists());
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(in[1]);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(NothingBeside(dir_.Join("out.txt")));
}

TEST_F(SesctlTest, DeviceOutputIsWrittenInPlace) {
  Seal("m.ses");
  ProcessResult d = Run({"decrypt", "--context", "app=test", "--in", dir_.Join("m.ses"), "--out", "/dev/null"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  struct stat st {};
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(SesctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunSesctl({}).exit_code, 2);
  EXPECT_EQ(RunSesctl({"frobnicate"}).exit_code, 2);
  ProcessResult r = Run({"encrypt", "--context", "novalue"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected KEY=VALUE"), std::string::npos);
  EXPECT_EQ(RunSesctl({"encrypt"}).exit_code, 1);  // no config
}

TEST_F(SesctlTest, NoCommandEverPrintsTheMasterKey) {
  Seal("m.ses");
  std::string hex = MasterKeyHex();
  for (auto args : std::vector<std::vector<std::string>>{{"keys", "list"}, {"plugins"}, {"inspect", "--in", dir_.Join("m.ses")},
                                                         {"decrypt", "--in", dir_.Join("m.ses")}}) {
    ProcessResult r = Run(args);
    EXPECT_EQ(r.out.find(hex), std::string::npos);
    EXPECT_EQ(r.err.find(hex), std::string::npos);
  }
}

}  // namespace
}  // namespace ses
