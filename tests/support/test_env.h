// TestEnv: a real engine for tests, built from the real plugins in the build
// tree (keyfile and cipher-openssl) over a private temporary key directory.
//
// Thread safety: one test at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ses/engine.h"
#include "ses/registry.h"

namespace ses::testing {

// A fresh directory under the system temp dir, removed with everything in it
// on destruction (so it cannot be copied).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string Join(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class TestEnv {
 public:
  TestEnv();

  // Creates keyfile://NAME in the key directory.
  void CreateKey(const std::string& name);
  // Writes a key file with the given versions (hex keys), mode 0600.
  void WriteKeyFile(const std::string& name, const std::vector<std::pair<int, std::string>>& versions);

  // An engine over the given keyrings, with its own fresh providers.
  std::unique_ptr<Engine> MakeEngine(std::vector<KeyringConfig> keyrings, CacheLimits cache = {});

  static KeyringConfig Keyring(const std::string& name, std::vector<std::string> uris,
                               KeyringMode mode = KeyringMode::kAny, uint16_t suite = kSuiteAes256Gcm,
                               uint32_t frame_size = 64 * 1024);

  const TempDir& dir() const { return dir_; }
  Registry& registry() { return *registry_; }

 private:
  TempDir dir_;
  std::unique_ptr<Registry> registry_;
};

std::vector<uint8_t> PatternBytes(size_t n, uint32_t seed = 1);

// Whole-file helpers for tests (binary, no error reporting: tests assert on
// what they read).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

}  // namespace ses::testing
