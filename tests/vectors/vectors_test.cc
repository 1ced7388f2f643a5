// Decrypts every known-answer vector in tests/vectors/ with a fresh engine
// holding only the vector's master keys. If the format drifts, these fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "test_env.h"
#include "vector_file.h"

namespace ses {
namespace {

using testing::TestEnv;
using testing::Vector;

std::vector<std::filesystem::path> VectorFiles() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(SES_TEST_SOURCE_DIR) + "/tests/vectors")) {
    if (e.path().extension() == ".vec") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Vector Load(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  Vector v;
  std::string error;
  EXPECT_TRUE(testing::ParseVector(s.str(), v, error)) << p << ": " << error;
  return v;
}

std::unique_ptr<Engine> EngineFor(TestEnv& env, const Vector& v) {
  std::map<std::string, std::vector<std::pair<int, std::string>>> files;
  for (const auto& k : v.keys) files[k.file].push_back({k.version, k.hex});
  for (const auto& [file, versions] : files) env.WriteKeyFile(file, versions);
  return env.MakeEngine({TestEnv::Keyring("kat", v.keyring_keys, v.mode)});
}

TEST(VectorsTest, ThereAreVectorsForEverySuiteAndMode) {
  std::set<uint16_t> suites;
  std::set<KeyringMode> modes;
  for (const auto& p : VectorFiles()) {
    Vector v = Load(p);
    suites.insert(Engine::Inspect(v.ciphertext)->suite_id);
    modes.insert(v.mode);
  }
  EXPECT_EQ(suites, (std::set<uint16_t>{kSuiteAes256Gcm, kSuiteChaCha20Poly1305, kSuiteAesGcmChaChaCascade}));
  EXPECT_EQ(modes.size(), 2u);
}

TEST(VectorsTest, EveryVectorDecryptsToItsPlaintext) {
  auto files = VectorFiles();
  ASSERT_GE(files.size(), 6u);
  for (const auto& p : files) {
    SCOPED_TRACE(p.filename().string());
    Vector v = Load(p);
    TestEnv env;
    auto engine = EngineFor(env, v);
    auto r = engine->Decrypt(v.ciphertext, v.context);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, v.plaintext);
  }
}

TEST(VectorsTest, EveryVectorRefusesAnotherContextOrAFlippedTag) {
  for (const auto& p : VectorFiles()) {
    SCOPED_TRACE(p.filename().string());
    Vector v = Load(p);
    TestEnv env;
    auto engine = EngineFor(env, v);
    auto other = v.context;
    other["injected"] = "1";
    EXPECT_FALSE(engine->Decrypt(v.ciphertext, other).ok());
    auto bad = v.ciphertext;
    bad.back() ^= 1;
    EXPECT_EQ(engine->Decrypt(bad, v.context).status().message(), kAuthenticationFailedMessage);
  }
}

}  // namespace
}  // namespace ses
