#include "test_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ses::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ses-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestEnv::TestEnv() : registry_(std::make_unique<Registry>()) {
  Status s = registry_->LoadDirectory(SES_TEST_PLUGIN_DIR);
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

void TestEnv::CreateKey(const std::string& name) {
  auto p = registry_->NewKeyProvider("keyfile", {{"dir", dir_.path().string()}});
  if (!p.ok()) throw std::runtime_error(p.status().ToString());
  auto made = (*p)->CreateKey("keyfile://" + name);
  if (!made.ok()) throw std::runtime_error(made.status().ToString());
}

void TestEnv::WriteKeyFile(const std::string& name, const std::vector<std::pair<int, std::string>>& versions) {
  std::string path = dir_.Join(name);
  {
    std::ofstream f(path, std::ios::trunc);
    f << "ses-keyfile v1\n";
    for (const auto& [v, hex] : versions) f << v << " " << hex << "\n";
  }
  ::chmod(path.c_str(), 0600);
}

std::unique_ptr<Engine> TestEnv::MakeEngine(std::vector<KeyringConfig> keyrings, CacheLimits cache) {
  EngineOptions o;
  o.keyrings = std::move(keyrings);
  o.cache = cache;
  auto cipher = registry_->NewCipher("cipher-openssl", {});
  auto keyfile = registry_->NewKeyProvider("keyfile", {{"dir", dir_.path().string()}});
  if (!cipher.ok() || !keyfile.ok()) throw std::runtime_error("plugins failed to initialise");
  o.cipher = *cipher;
  o.providers.push_back({"keyfile", *keyfile});
  auto engine = Engine::Create(std::move(o));
  if (!engine.ok()) throw std::runtime_error(engine.status().ToString());
  return std::move(engine).value();
}

KeyringConfig TestEnv::Keyring(const std::string& name, std::vector<std::string> uris, KeyringMode mode,
                               uint16_t suite, uint32_t frame_size) {
  KeyringConfig k;
  k.name = name;
  k.key_uris = std::move(uris);
  k.mode = mode;
  k.suite_id = suite;
  k.frame_size = frame_size;
  return k;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::vector<uint8_t> PatternBytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return out;
}

}  // namespace ses::testing
