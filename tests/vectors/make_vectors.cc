// Makes the known-answer vectors in tests/vectors/. Run it only when the
// format changes on purpose (a new format version), never to "fix" a failing
// vectors_test:
//   build/bin/make_vectors tests/vectors
// Master keys are fixed; data keys and message ids are random, so every run
// writes different (equally valid) ciphertexts.
#include <cstdio>
#include <fstream>
#include <map>

#include "test_env.h"
#include "util/bytes.h"
#include "vector_file.h"

using namespace ses;
using namespace ses::testing;

namespace {

const std::map<std::string, std::vector<std::pair<int, std::string>>> kKeyFiles = {
    {"a.key",
     {{1, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
      {2, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"}}},
    {"b.key", {{1, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"}}},
    {"fuzz.key", {{1, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}}},
};

struct Spec {
  std::string name, description;
  KeyringConfig keyring;
  EncryptionContext context;
  size_t size;
  std::vector<std::string> key_files;  // which key files (with all versions) the vector carries
};

std::vector<uint8_t> Text(size_t n) {
  std::string s;
  while (s.size() < n) s += "SES known-answer plaintext. ";
  return std::vector<uint8_t>(s.begin(), s.begin() + static_cast<ptrdiff_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_vectors OUTPUT_DIR\n");
    return 2;
  }
  const std::string out_dir = argv[1];
  TestEnv env;
  for (const auto& [file, versions] : kKeyFiles) env.WriteKeyFile(file, versions);

  const std::vector<Spec> specs = {
      {"aes-256-gcm-empty", "empty message, empty context, one frame (final, empty)",
       TestEnv::Keyring("k", {"keyfile://a.key"}), {}, 0, {"a.key"}},
      {"aes-256-gcm-frames", "200 bytes in 64-byte frames: three regular frames and a final one of 8 bytes",
       TestEnv::Keyring("k", {"keyfile://a.key"}, KeyringMode::kAny, kSuiteAes256Gcm, 64),
       {{"app", "vectors"}, {"tenant", "42"}}, 200, {"a.key"}},
      {"chacha20-poly1305-1kib", "1 KiB, one final frame", 
       TestEnv::Keyring("k", {"keyfile://b.key"}, KeyringMode::kAny, kSuiteChaCha20Poly1305),
       {{"purpose", "kat"}}, 1024, {"b.key"}},
      {"cascade-frames", "300 bytes of the AES-GCM+ChaCha20-Poly1305 cascade in 128-byte frames",
       TestEnv::Keyring("k", {"keyfile://a.key"}, KeyringMode::kAny, kSuiteAesGcmChaChaCascade, 128),
       {{"suite", "cascade"}}, 300, {"a.key"}},
      {"any-two-keys", "mode any: the data key wrapped under a.key (version 2) and b.key",
       TestEnv::Keyring("k", {"keyfile://a.key", "keyfile://b.key"}), {{"mode", "any"}}, 100, {"a.key", "b.key"}},
      {"all-two-keys", "mode all: XOR shares of the data key under a.key (version 2) and b.key",
       TestEnv::Keyring("k", {"keyfile://a.key", "keyfile://b.key"}, KeyringMode::kAll), {{"mode", "all"}}, 100,
       {"a.key", "b.key"}},
      {"fuzz-seed", "a seed for the fuzz targets, under fuzz.key",
       TestEnv::Keyring("k", {"keyfile://fuzz.key"}, KeyringMode::kAny, kSuiteAes256Gcm, 32), {{"f", "1"}}, 70,
       {"fuzz.key"}},
  };
  for (const auto& spec : specs) {
    auto engine = env.MakeEngine({spec.keyring});
    Vector v;
    v.name = spec.name;
    v.description = spec.description;
    for (const auto& f : spec.key_files) {
      for (const auto& [version, hex] : kKeyFiles.at(f)) v.keys.push_back({f, version, hex});
    }
    v.mode = spec.keyring.mode;
    v.keyring_keys = spec.keyring.key_uris;
    v.context = spec.context;
    v.plaintext = Text(spec.size);
    auto sealed = engine->Encrypt("k", spec.context, v.plaintext);
    if (!sealed.ok()) {
      std::fprintf(stderr, "%s: %s\n", spec.name.c_str(), sealed.status().ToString().c_str());
      return 1;
    }
    v.ciphertext = *sealed;
    std::ofstream(out_dir + "/" + spec.name + ".vec") << FormatVector(v);
    std::ofstream(out_dir + "/" + spec.name + ".ses", std::ios::binary)
        .write(reinterpret_cast<const char*>(sealed->data()), static_cast<std::streamsize>(sealed->size()));
    std::printf("wrote %s (%zu bytes)\n", spec.name.c_str(), sealed->size());
  }
  return 0;
}
