// libFuzzer target: the whole decrypt path (header, key recovery through the
// real keyfile plugin, commitment, header tag, frames) through the real
// cipher plugin, on arbitrary bytes. An accepted input must decrypt the same
// way twice: once with a fresh unwrap, once from the data-key cache.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ses/engine.h"
#include "ses/registry.h"

namespace {

std::unique_ptr<ses::Engine> g_engine;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A fixed master key so that seeds made with it (tests/vectors) open.
  char dir_tmpl[] = "/tmp/ses-fuzz-XXXXXX";
  std::string dir = mkdtemp(dir_tmpl);
  {
    std::ofstream f(dir + "/fuzz.key");
    f << "ses-keyfile v1\n1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
  }
  chmod((dir + "/fuzz.key").c_str(), 0600);
  static ses::Registry registry;
  if (!registry.LoadDirectory(SES_FUZZ_PLUGIN_DIR).ok()) std::abort();
  ses::EngineOptions o;
  o.cipher = registry.NewCipher("cipher-openssl", {}).value();
  o.providers.push_back({"keyfile", registry.NewKeyProvider("keyfile", {{"dir", dir}}).value()});
  ses::KeyringConfig k;
  k.name = "default";
  k.key_uris = {"keyfile://fuzz.key"};
  o.keyrings = {k};
  g_engine = std::move(ses::Engine::Create(std::move(o))).value();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto header = ses::Engine::Inspect(in);
  ses::EncryptionContext ctx = header.ok() ? header->context : ses::EncryptionContext{};
  auto a = g_engine->Decrypt(in, ctx);
  if (!a.ok()) return 0;
  auto b = g_engine->Decrypt(in, ctx);
  if (!b.ok() || *a != *b) __builtin_trap();
  return 0;
}
