// sesctl's client mode as a user runs it: the new global flags and their
// errors (one stderr line, exit 2), then every client command against sesd's
// real server running in this test process, and bench's flags and output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "in_process_server.h"
#include "process.h"
#include "ses/engine.h"
#include "tls/dev_pki.h"

namespace ses {
namespace {

using testing::InProcessServer;
using testing::kSesctl;
using testing::ProcessResult;
using testing::ReadFile;
using testing::RunProcess;
using testing::RunSesctl;
using testing::TempDir;
using testing::WriteFile;

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct UsageCase {
  std::vector<std::string> args;
  std::string error;  // expected part of the one stderr line
};

TEST(SesctlClientFlagsTest, BadClientFlagsAreOneUsageError) {
  TempDir dir;
  WriteFile(dir.Join("ca.pem"), "x");
  std::filesystem::create_directories(dir.Join("devdir"));
  WriteFile(dir.Join("twolines/endpoint"), "");
  std::filesystem::create_directories(dir.Join("bad"));
  WriteFile(dir.Join("bad/endpoint"), "localhost:1\nextra\n");
  std::filesystem::create_directories(dir.Join("nocerts"));
  WriteFile(dir.Join("nocerts/endpoint"), "127.0.0.1:7443\n");
  const std::vector<UsageCase> cases = {
      {{"--server"}, "required argument"},
      {{"--server", ":8443", "encrypt"}, "bad server ':8443': expected HOST:PORT"},
      {{"--server", "encrypt"}, "bad server 'encrypt'"},
      {{"--server", "host:70000", "encrypt"}, "port must be 1-65535"},
      {{"--server", "::1:80", "encrypt"}, "[ADDRESS]:PORT"},
      {{"--server=", "encrypt"}, "'--server'"},
      {{"--dev", dir.Join("devdir"), "encrypt"}, "no " + dir.Join("devdir") + "/endpoint"},
      {{"--dev", dir.Join("bad"), "encrypt"}, "one line HOST:PORT"},
      {{"--dev", dir.Join("nocerts"), "encrypt"}, "nocerts/tls/ca.pem"},
      {{"--dev", dir.Join("devdir"), "--server", "h:1", "encrypt"}, "--dev cannot be combined"},
      {{"--ca", dir.Join("ca.pem"), "encrypt"}, "need --server"},
      {{"--insecure", "encrypt"}, "need --server"},
      {{"--server", "h:1", "--ca", dir.Join("nope.pem"), "encrypt"}, "cannot read CA file " + dir.Join("nope.pem")},
      {{"--server", "h:1", "--cert", dir.Join("ca.pem"), "encrypt"}, "--cert and --key go together"},
      {{"--server", "h:1", "--insecure", "--ca", dir.Join("ca.pem"), "encrypt"}, "--insecure cannot be combined"},
      {{"--config", dir.Join("x.conf"), "--server", "h:1", "encrypt"}, "--config is for offline mode"},
      {{"--server", "h:1", "--insecure", "keys", "list"}, "keys works offline only"},
      {{"--server", "h:1", "--insecure", "init", dir.Join("i")}, "init works offline only"},
      {{"encrypt", "--local"}, "--local needs a server"},
      {{"reencrypt", "--context", "a=b"}, "--context is for client mode"},
      {{"datakey", "generate"}, "needs a server"},
      {{"--server", "h:1", "--insecure", "datakey", "open"}, "expected 'generate' or 'decrypt'"},
      {{"--server", "h:1", "--insecure", "datakey", "generate", "--plaintext-out", "-"}, "never printed"},
      {{"--server", "h:1", "--insecure", "datakey", "decrypt", "--keyring", "k"}, "takes no --keyring"},
      {{"--server", "h:1", "--insecure", "datakey", "generate", "--context", "novalue"}, "expected KEY=VALUE"},
      {{"bench"}, "bench: needs a server"},
      {{"--server", "h:1", "--insecure", "bench", "--op", "sign"}, "bad --op 'sign'"},
      {{"--server", "h:1", "--insecure", "bench", "--mode", "fibers"}, "bad --mode 'fibers'"},
      {{"--server", "h:1", "--insecure", "bench", "--size", "-1"}, "--size must be"},
      {{"--server", "h:1", "--insecure", "bench", "--size", "x"}, "bench: "},
      {{"--server", "h:1", "--insecure", "bench", "--concurrency", "0"}, "--concurrency must be 1-10000"},
      {{"--server", "h:1", "--insecure", "bench", "--mode", "threads", "--concurrency", "1000"}, "in threads mode"},
      {{"--server", "h:1", "--insecure", "bench", "--duration", "0"}, "--duration must be"},
      {{"--server", "h:1", "--insecure", "bench", "--rate", "-5"}, "--rate must be"},
      {{"--server", "h:1", "--insecure", "bench", "--batch", "10"}, "--batch applies to --op batch-encrypt only"},
      {{"--server", "h:1", "--insecure", "bench", "--op", "batch-encrypt", "--batch", "0"}, "--batch must be"},
      {{"--server", "h:1", "--insecure", "bench", "--op", "batch-encrypt", "--size", "1048576", "--batch", "100"},
       "--size times --batch"},
      {{"--server", "h:1", "--insecure", "bench", "--context", "x"}, "expected KEY=VALUE"},
  };
  for (const auto& c : cases) {
    ProcessResult r = RunSesctl(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_TRUE(Contains(r.err, c.error)) << joined << "\nwanted: " << c.error << "\ngot: " << r.err;
    EXPECT_EQ(Lines(r.err), 1) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
  }
}

TEST(SesctlClientFlagsTest, CommandOptionsAreNotTakenForGlobalFlags) {
  // --in is a prefix of --insecure and --key of --keyring: no abbreviations.
  TempDir dir;
  WriteFile(dir.Join("plain"), "hello");
  ProcessResult r = RunSesctl({"encrypt", "--in", dir.Join("plain"), "--keyring", "default"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // offline without a config: one operation error
  EXPECT_TRUE(Contains(r.err, "no configuration")) << r.err;
}

TEST(SesctlClientFlagsTest, UnreachableServerIsOneOperationError) {
  TempDir dir;
  WriteFile(dir.Join("plain"), "hello");
  // Port 1 on loopback: nothing listens there in a test environment.
  ProcessResult r = RunSesctl({"--server", "127.0.0.1:1", "--insecure", "encrypt", "--in", dir.Join("plain"), "--out",
                            dir.Join("sealed")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "sesctl: encrypt: sesd at 127.0.0.1:1 unavailable")) << r.err;
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.Join("sealed")));
  r = RunSesctl({"--server", "127.0.0.1:1", "--insecure", "bench", "--duration", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "warm-up call failed")) << r.err;
}

TEST(SesctlClientFlagsTest, UsageNamesTheClientFlags) {
  ProcessResult r = RunSesctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* part : {"--server HOST:PORT", "--dev DIR", "datakey generate", "bench --op", "--local"}) {
    EXPECT_TRUE(Contains(r.out, part)) << part;
  }
}

class SesctlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    WriteFile(dir_.Join("small"), small_);
    WriteFile(dir_.Join("big"), big_);
  }

  ProcessResult Run(std::vector<std::string> args, const std::string& stdin_path = "") {
    args.insert(args.begin(), {"--server", server_.address(), "--insecure"});
    return RunSesctl(args, stdin_path);
  }
  // The same through a shell pipe, so sesctl's stdin is a pipe.
  ProcessResult RunPiped(const std::string& from, const std::string& args) {
    return RunProcess({"/bin/sh", "-c",
                       "cat '" + from + "' | '" + kSesctl + "' --server " + server_.address() + " --insecure " + args});
  }

  InProcessServer server_;
  TempDir dir_;
  const std::string small_ = "attack at dawn\n";
  const std::string big_ = std::string(3 * 1024 * 1024 + 5, 'z') + "end";
};

TEST_F(SesctlClientTest, EncryptAndDecryptSmallAndLargeFiles) {
  for (const std::string name : {"small", "big"}) {
    ProcessResult r = Run({"encrypt", "--context", "app=test", "--in", dir_.Join(name), "--out", dir_.Join(name + ".ses")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Run({"decrypt", "--context", "app=test", "--in", dir_.Join(name + ".ses"), "--out", dir_.Join(name + ".out")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadFile(dir_.Join(name + ".out")), ReadFile(dir_.Join(name)));
    // The server's engine opens what sesctl sealed.
    std::string sealed = ReadFile(dir_.Join(name + ".ses"));
    auto opened = server_.engine().Decrypt(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size()), {{"app", "test"}});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->size(), ReadFile(dir_.Join(name)).size());
  }
}

TEST_F(SesctlClientTest, PipesAreStreamed) {
  ProcessResult r = RunPiped(dir_.Join("big"), "encrypt --out " + dir_.Join("p.ses"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunPiped(dir_.Join("p.ses"), "decrypt");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, big_);
}

TEST_F(SesctlClientTest, FailedDecryptLeavesNoOutputFile) {
  ASSERT_EQ(Run({"encrypt", "--context", "a=b", "--in", dir_.Join("big"), "--out", dir_.Join("b.ses")}).exit_code, 0);
  ProcessResult r = Run({"decrypt", "--context", "a=c", "--in", dir_.Join("b.ses"), "--out", dir_.Join("b.out")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "sesctl: decrypt: ")) << r.err;
  EXPECT_TRUE(Contains(r.err, "context")) << r.err;
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("b.out")));

  // A tampered last frame fails after earlier frames were streamed back:
  // they went to a temporary file that is removed.
  std::string sealed = ReadFile(dir_.Join("b.ses"));
  sealed.back() ^= 1;
  WriteFile(dir_.Join("b.ses"), sealed);
  r = Run({"decrypt", "--context", "a=b", "--in", dir_.Join("b.ses"), "--out", dir_.Join("b.out")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sesctl: decrypt: authentication failed\n");
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(Contains(e.path().filename().string(), "b.out")) << e.path();
  }
}

TEST_F(SesctlClientTest, ReEncryptRewrapsLargeFiles) {
  ASSERT_EQ(Run({"encrypt", "--context", "a=b", "--in", dir_.Join("big"), "--out", dir_.Join("b.ses")}).exit_code, 0);
  ProcessResult r = Run({"reencrypt", "--keyring", "other", "--context", "a=b", "--in", dir_.Join("b.ses"), "--out",
                         dir_.Join("b2.ses")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string sealed = ReadFile(dir_.Join("b2.ses"));
  auto info = Engine::Inspect(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size()));
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->keys.size(), 1u);
  EXPECT_TRUE(Contains(info->keys[0].key_uri, "other.key"));
  r = Run({"decrypt", "--context", "a=b", "--in", dir_.Join("b2.ses"), "--out", dir_.Join("b2.out")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.Join("b2.out")), big_);
  r = Run({"reencrypt", "--keyring", "other", "--in", dir_.Join("b.ses"), "--out", dir_.Join("b3.ses")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sesctl: reencrypt: encryption context does not match the one sealed in the message\n");
}

TEST_F(SesctlClientTest, LocalModeInteroperatesWithServerMode) {
  // The cipher plugin is found through SES_PLUGIN_DIR (the test binary's
  // plugins are not beside sesctl in every layout).
  const std::string env = std::string("SES_PLUGIN_DIR=") + SES_TEST_PLUGIN_DIR;
  auto run_local = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", env, kSesctl, "--server", server_.address(), "--insecure"});
    return RunProcess(args);
  };
  ProcessResult r = run_local({"encrypt", "--local", "--context", "k=v", "--in", dir_.Join("big"), "--out",
                               dir_.Join("l.ses")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Run({"decrypt", "--context", "k=v", "--in", dir_.Join("l.ses"), "--out", dir_.Join("l.out")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.Join("l.out")), big_);
  ASSERT_EQ(Run({"encrypt", "--context", "k=v", "--in", dir_.Join("small"), "--out", dir_.Join("s.ses")}).exit_code, 0);
  r = run_local({"decrypt", "--local", "--context", "k=v", "--in", dir_.Join("s.ses")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, small_);
}

TEST_F(SesctlClientTest, DataKeysGoOnlyToTheFilesNamed) {
  ProcessResult r = Run({"datakey", "generate", "--context", "k=v", "--out", dir_.Join("dk.enc"), "--plaintext-out",
                         dir_.Join("dk.key")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(r.err.empty());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Join("dk.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string key = ReadFile(dir_.Join("dk.key"));
  EXPECT_EQ(key.size(), 32u);

  r = Run({"datakey", "decrypt", "--context", "k=v", "--in", dir_.Join("dk.enc"), "--plaintext-out",
           dir_.Join("dk2.key")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.Join("dk2.key")), key);
  r = Run({"datakey", "decrypt", "--context", "k=v", "--in", dir_.Join("dk.enc")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "32 bytes")) << r.out;
  EXPECT_FALSE(Contains(r.out, key));
  r = Run({"datakey", "decrypt", "--in", dir_.Join("dk.enc"), "--plaintext-out", dir_.Join("dk3.key")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "sesctl: datakey decrypt: ")) << r.err;
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("dk3.key")));

  // Without --plaintext-out only the encrypted key is written, to stdout.
  r = Run({"datakey", "generate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto size = Engine::HeaderSize(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(r.out.data()), r.out.size()));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, r.out.size());
}

// --plaintext-out takes only a new file or a regular file of the caller's:
// the key never reaches a FIFO, device, link or stdout, and nothing is asked
// of the server (no encrypted key is written) when the path is refused.
TEST_F(SesctlClientTest, PlaintextKeyGoesOnlyIntoARegularFile) {
  ASSERT_EQ(Run({"datakey", "generate", "--out", dir_.Join("dk.enc")}).exit_code, 0);
  const std::string refused = "refusing to write a secret to ";

  // A FIFO planted at the path: held open for reading here (non-blocking),
  // so a writer would not block, and checked to have received nothing.
  const std::string fifo = dir_.Join("dk.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  WriteFile(dir_.Join("target"), "not a key");
  ASSERT_EQ(::symlink(dir_.Join("target").c_str(), dir_.Join("dk.link").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.Join("nowhere").c_str(), dir_.Join("dangling").c_str()), 0);
  std::filesystem::create_directories(dir_.Join("adir"));

  for (const std::string& path : {fifo, dir_.Join("dk.link"), dir_.Join("dangling"), std::string("/dev/stdout"),
                                  std::string("/dev/null"), dir_.Join("adir")}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"datakey", "generate", "--out", dir_.Join("g.enc"), "--plaintext-out", path},
          {"datakey", "decrypt", "--in", dir_.Join("dk.enc"), "--plaintext-out", path}}) {
      ProcessResult r = Run(args);
      EXPECT_EQ(r.exit_code, 1) << path << " " << args[1];
      EXPECT_EQ(r.err, "sesctl: datakey " + args[1] + ": " + refused + path +
                           ": it must be a new file or a regular file you own (not stdout, a link, a device or a FIFO)\n")
          << r.err;
      EXPECT_TRUE(r.out.empty()) << path;
      EXPECT_FALSE(std::filesystem::exists(dir_.Join("g.enc"))) << path;
    }
  }
  char buf[64];
  EXPECT_EQ(::read(reader, buf, sizeof(buf)), 0);  // no writer ever came
  ::close(reader);
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(::lstat(dir_.Join("dk.link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(ReadFile(dir_.Join("target")), "not a key");
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("nowhere")));
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }

  // "-" is a usage error, as is the same file for both outputs.
  EXPECT_EQ(Run({"datakey", "generate", "--plaintext-out", "-"}).exit_code, 2);
  ProcessResult r = Run({"datakey", "generate", "--out", dir_.Join("same"), "--plaintext-out", dir_.Join("same")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "must name different files")) << r.err;
}

TEST_F(SesctlClientTest, PlaintextKeyFileIsNewOrReplacedWithMode0600) {
  // A permissive umask must not widen the key file's mode.
  const mode_t saved_umask = ::umask(0);
  ProcessResult r = Run({"datakey", "generate", "--out", dir_.Join("dk.enc"), "--plaintext-out", dir_.Join("new.key")});
  ::umask(saved_umask);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(dir_.Join("new.key").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(dir_.Join("new.key")).size(), 32u);

  // An existing regular file of ours is replaced, not written into: it
  // keeps no old mode and another link to the old file keeps the old bytes.
  WriteFile(dir_.Join("old.key"), "old contents");
  ASSERT_EQ(::chmod(dir_.Join("old.key").c_str(), 0644), 0);
  ASSERT_EQ(::link(dir_.Join("old.key").c_str(), dir_.Join("old.hardlink").c_str()), 0);
  r = Run({"datakey", "decrypt", "--in", dir_.Join("dk.enc"), "--plaintext-out", dir_.Join("old.key")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(::lstat(dir_.Join("old.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(dir_.Join("old.key")), ReadFile(dir_.Join("new.key")));
  EXPECT_EQ(ReadFile(dir_.Join("old.hardlink")), "old contents");
}

TEST_F(SesctlClientTest, DecryptedDataMayGoToStdoutAndFifos) {
  ASSERT_EQ(Run({"encrypt", "--in", dir_.Join("small"), "--out", dir_.Join("s.ses")}).exit_code, 0);
  ProcessResult r = Run({"decrypt", "--in", dir_.Join("s.ses"), "--out", "/dev/stdout"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, small_);

  const std::string fifo = dir_.Join("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  r = Run({"decrypt", "--in", dir_.Join("s.ses"), "--out", fifo});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string got(small_.size() + 10, '\0');
  ssize_t n = ::read(reader, got.data(), got.size());
  ::close(reader);
  ASSERT_GE(n, 0);
  got.resize(static_cast<size_t>(n));
  EXPECT_EQ(got, small_);

  // A link is refused, whatever it points at.
  ASSERT_EQ(::symlink(fifo.c_str(), dir_.Join("out.link").c_str()), 0);
  r = Run({"decrypt", "--in", dir_.Join("s.ses"), "--out", dir_.Join("out.link")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "not a regular file, device or FIFO")) << r.err;
}

TEST_F(SesctlClientTest, BenchPrintsASummaryAndJson) {
  ProcessResult r = Run({"bench", "--op", "encrypt", "--size", "100", "--concurrency", "2", "--duration", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"ops/s:", "MB/s:", "p50", "p95", "p99", "max", "errors:      none"}) {
    EXPECT_TRUE(Contains(r.out, part)) << part << "\n" << r.out;
  }
  EXPECT_TRUE(Contains(r.err, "ops/s")) << r.err;  // the progress line

  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--op", "decrypt"}, {"--op", "echo", "--mode", "threads"},
        {"--op", "batch-encrypt", "--batch", "5", "--rate", "50"}}) {
    std::vector<std::string> args = {"bench", "--size", "64", "--concurrency", "2", "--duration", "0.5", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    r = Run(args);
    ASSERT_EQ(r.exit_code, 0) << extra[1] << ": " << r.err;
    EXPECT_EQ(r.out.front(), '{') << r.out;
    EXPECT_EQ(Lines(r.out), 1) << r.out;
    for (const char* field : {"\"ops_per_s\":", "\"messages_per_s\":", "\"mb_per_s\":", "\"latency_ms\":{\"p50\":",
                              "\"errors\":{}", "\"calls_failed\":0"}) {
      EXPECT_TRUE(Contains(r.out, field)) << field << "\n" << r.out;
    }
  }
  // Errors are counted by code: an unknown keyring fails at warm-up instead.
  r = Run({"bench", "--keyring", "nope", "--duration", "0.2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "warm-up call failed")) << r.err;
}

TEST(SesctlDevTest, DevDirectoryGivesEndpointAndMutualTls) {
  TempDir dir;
  tls::DevPkiPaths pki;
  InProcessServer server;
  server.StartWithDevPki(dir.path(), &pki);
  WriteFile(dir.Join("endpoint"), server.address() + "\n");
  WriteFile(dir.Join("plain"), "dev mode");
  ProcessResult r =
      RunSesctl({"--dev", dir.path().string(), "encrypt", "--in", dir.Join("plain"), "--out", dir.Join("plain.ses")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunSesctl({"--dev", dir.path().string(), "decrypt", "--in", dir.Join("plain.ses")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "dev mode");
}

}  // namespace
}  // namespace ses
