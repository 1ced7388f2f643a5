#include "softhsm_test_fixture.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

// LeakSanitizer (SES_SANITIZE=address): modules are never finalised, by
// design (module.h), so what they allocate for themselves stays allocated.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libsofthsm2.so\nleak:pkcs11-spy.so\n";
}

namespace ses::pkcs11 {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The SOFTHSM2_CONF the module in this process was (or will be) started with.
std::string& ProcessConf() {
  static std::string* conf = new std::string;
  return *conf;
}

}  // namespace

Bytes Pattern(uint8_t first, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(first + i);
  return b;
}

Bytes ToBytes(const SecretBytes& s) { return Bytes(s.data(), s.data() + s.size()); }

void SoftHsmTest::SetUp() {
  std::string base = ::testing::TempDir();
  if (!base.empty() && base.back() == '/') base.pop_back();
  std::string tmpl = base + "/ses_pkcs11_test_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
  const std::string conf = dir_ + "/softhsm2.conf";

  if (!ProcessConf().empty()) {
    // SoftHSM2 in this process already serves another test's token.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string filter = std::string(info->test_suite_name()) + "." + info->name();
    int rc = Shell("/proc/" + std::to_string(::getpid()) + "/exe --gtest_filter='" + filter + "'");
    std::string log = ReadAll(dir_ + "/shell.log");
    ASSERT_EQ(rc, 0) << "in a child process:\n" << log;
    ASSERT_NE(log.find("[  PASSED  ] 1 test"), std::string::npos) << log;
    GTEST_SKIP() << "passed in a child process (SoftHSM2 reads SOFTHSM2_CONF once per process)";
  }
  ProcessConf() = conf;
  ASSERT_EQ(::mkdir((dir_ + "/tokens").c_str(), 0700), 0);
  std::ofstream(conf) << "directories.tokendir = " << dir_ << "/tokens\n"
                      << "objectstore.backend = file\n"
                      << "log.level = ERROR\n";
  // Before the module is first initialised: SoftHSM2 reads it in C_Initialize.
  ASSERT_EQ(::setenv("SOFTHSM2_CONF", conf.c_str(), 1), 0);
  ASSERT_EQ(Shell(std::string("softhsm2-util --init-token --free --label ") + kToken +
                  " --so-pin 12345678 --pin " + kUserPin),
            0);
}

void SoftHsmTest::TearDown() {
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

int SoftHsmTest::Shell(const std::string& command) {
  const std::string log = dir_ + "/shell.log";
  int status = std::system((command + " > '" + log + "' 2>&1").c_str());
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  if (rc != 0) ADD_FAILURE() << command << " exited " << rc << ":\n" << ReadAll(log);
  return rc;
}

bool SoftHsmTest::Pkcs11Tool(const std::string& args) {
  return Shell(std::string("pkcs11-tool --module ") + kModule + " --token-label " + kToken +
               " --login --pin " + kUserPin + " " + args) == 0;
}

std::unique_ptr<Pkcs11Provider> SoftHsmTest::NewProvider(const PluginConfig& config) {
  auto made = Pkcs11Provider::Create(config);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(made).value() : nullptr;
}

std::string SoftHsmTest::Uri(const std::string& object, const std::string& path_extra) {
  return UriWithoutPin(object, path_extra) + "?pin-value=" + kUserPin;
}

std::string SoftHsmTest::UriWithoutPin(const std::string& object, const std::string& path_extra) {
  return std::string("pkcs11:token=") + kToken + ";object=" + object + path_extra;
}

std::string SoftHsmTest::WriteFile(const std::string& name, const std::string& contents,
                                   unsigned mode) {
  std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  return path;
}

}  // namespace ses::pkcs11
