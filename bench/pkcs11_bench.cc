// PKCS#11 provider benchmarks on a private SoftHSM2 token:
//  - wrap+unwrap of a 32-byte data key through the provider (the plugin,
//    through the C ABI) against a raw PKCS#11 loop doing the same calls with
//    the same mechanism (CKM_AES_KEY_WRAP_PAD) on as many sessions, 1 and 2
//    threads;
//  - engine encrypt of 1 KiB messages with a SoftHSM keyring against a
//    keyfile keyring, data-key cache on: the cache should make the HSM vanish.
// The summary prints paired ratios (the two sides alternate in short blocks).
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ses/engine.h"
#include "ses/registry.h"

namespace {

constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";

struct Env {
  std::filesystem::path dir;
  std::string uri;
  std::string pin;
  ses::Registry registry;
  std::shared_ptr<ses::KeyProvider> pkcs11;
  std::unique_ptr<ses::Engine> hsm_engine, file_engine;
  CK_FUNCTION_LIST_PTR p11 = nullptr;
  CK_SLOT_ID slot = 0;
  ~Env() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};
Env* g_env = nullptr;

bool SetUp(Env& env) {
  char tmpl[] = "/tmp/ses-p11-bench-XXXXXX";
  env.dir = mkdtemp(tmpl);
  std::string rig = std::string(SES_SOURCE_DIR) + "/scripts/softhsm-rig.sh";
  std::string cmd = rig + " " + env.dir.string() + "/rig --aes-key master > " + env.dir.string() + "/rig.out";
  if (std::system(cmd.c_str()) != 0) return false;
  setenv("SOFTHSM2_CONF", (env.dir / "rig/softhsm2.conf").c_str(), 1);
  std::ifstream pin(env.dir / "rig/user.pin");
  std::getline(pin, env.pin);
  env.uri = "pkcs11:token=ses-test;object=master?pin-source=" + (env.dir / "rig/user.pin").string();

  if (!env.registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok()) return false;
  auto p = env.registry.NewKeyProvider("pkcs11", {{"pool_size", "2"}});
  if (!p.ok()) {
    std::fprintf(stderr, "pkcs11 provider: %s\n", p.status().ToString().c_str());
    return false;
  }
  env.pkcs11 = *p;
  auto keyfile = env.registry.NewKeyProvider("keyfile", {{"dir", env.dir.string()}});
  if (!keyfile.ok() || !(*keyfile)->CreateKey("keyfile://file.key").ok()) return false;
  for (bool hsm : {true, false}) {
    ses::EngineOptions o;
    o.cipher = *env.registry.NewCipher("cipher-openssl", {});
    o.providers.push_back({"pkcs11", env.pkcs11});
    o.providers.push_back({"keyfile", *keyfile});
    ses::KeyringConfig k;
    k.name = "default";
    k.key_uris = {hsm ? env.uri : std::string("keyfile://file.key")};
    o.keyrings = {k};
    auto e = ses::Engine::Create(o);
    if (!e.ok()) return false;
    (hsm ? env.hsm_engine : env.file_engine) = std::move(e).value();
  }

  // The raw side: the same module (dlopen returns the loaded handle).
  void* lib = dlopen(kModule, RTLD_NOW | RTLD_LOCAL);
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(lib, "C_GetFunctionList"));
  if (get == nullptr || get(&env.p11) != CKR_OK) return false;
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = env.p11->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return false;
  CK_SLOT_ID slots[8];
  CK_ULONG n = 8;
  if (env.p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK || n == 0) return false;
  env.slot = slots[0];
  return true;
}

// One raw session with the master key found, as a provider session has it.
struct RawSession {
  CK_SESSION_HANDLE s = 0;
  CK_OBJECT_HANDLE master = 0;
  bool Open(Env& env) {
    CK_FUNCTION_LIST_PTR f = env.p11;
    if (f->C_OpenSession(env.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s) != CKR_OK) return false;
    CK_RV rv = f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(env.pin.data()), env.pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return false;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    char label[] = "master";
    CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, label, 6}};
    CK_ULONG count = 0;
    if (f->C_FindObjectsInit(s, find, 2) != CKR_OK || f->C_FindObjects(s, &master, 1, &count) != CKR_OK) return false;
    f->C_FindObjectsFinal(s);
    return count == 1;
  }
  // Wrap then unwrap one 32-byte key, as the provider does.
  bool RoundTrip(CK_FUNCTION_LIST_PTR f, uint8_t key[32]) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &type, sizeof(type)},
                           {CKA_TOKEN, &no, sizeof(no)},         {CKA_SENSITIVE, &no, sizeof(no)},
                           {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_VALUE, key, 32}};
    CK_OBJECT_HANDLE dk = 0, back = 0;
    CK_MECHANISM mech = {CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    uint8_t wrapped[64];
    CK_ULONG wlen = sizeof(wrapped);
    if (f->C_CreateObject(s, tmpl, 6, &dk) != CKR_OK) return false;
    bool ok = f->C_WrapKey(s, &mech, master, dk, wrapped, &wlen) == CKR_OK;
    f->C_DestroyObject(s, dk);
    ok = ok && f->C_UnwrapKey(s, &mech, master, wrapped, wlen, tmpl, 5, &back) == CKR_OK;
    uint8_t value[32];
    CK_ATTRIBUTE get = {CKA_VALUE, value, sizeof(value)};
    ok = ok && f->C_GetAttributeValue(s, back, &get, 1) == CKR_OK && std::memcmp(value, key, 32) == 0;
    if (back != 0) f->C_DestroyObject(s, back);
    return ok;
  }
};

bool ProviderRoundTrip(ses::KeyProvider& p, const std::string& uri, const std::vector<uint8_t>& key) {
  auto w = p.Wrap(uri, key, {});
  if (!w.ok()) return false;
  auto u = p.Unwrap(uri, w->key_version, w->wrapped, {});
  return u.ok() && u->size() == key.size() && std::memcmp(u->data(), key.data(), key.size()) == 0;
}

void BM_ProviderWrapUnwrap(benchmark::State& state) {
  std::vector<uint8_t> key(32, static_cast<uint8_t>(state.thread_index()));
  for (auto _ : state) {
    if (!ProviderRoundTrip(*g_env->pkcs11, g_env->uri, key)) {
      state.SkipWithError("provider round trip failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RawPkcs11WrapUnwrap(benchmark::State& state) {
  RawSession session;
  if (!session.Open(*g_env)) {
    state.SkipWithError("raw session failed");
    return;
  }
  uint8_t key[32];
  std::memset(key, state.thread_index(), sizeof(key));
  for (auto _ : state) {
    if (!session.RoundTrip(g_env->p11, key)) {
      state.SkipWithError("raw round trip failed");
      break;
    }
  }
  g_env->p11->C_CloseSession(session.s);
  state.SetItemsProcessed(state.iterations());
}

void EngineEncrypt(benchmark::State& state, ses::Engine& engine) {
  std::vector<uint8_t> plain(1024, 7), out;
  const ses::EncryptionContext ctx{{"bench", "1"}};
  for (auto _ : state) {
    if (!engine.EncryptTo("default", ctx, plain, out).ok()) {
      state.SkipWithError("encrypt failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_EngineEncryptSoftHsm(benchmark::State& state) { EngineEncrypt(state, *g_env->hsm_engine); }
void BM_EngineEncryptKeyfile(benchmark::State& state) { EngineEncrypt(state, *g_env->file_engine); }

// Alternating blocks of `a` and `b` from `threads` threads; returns the
// median over blocks of (b's time / a's time) and the per-op times.
template <typename A, typename B>
double Paired(int blocks, int per_block, int threads, A&& a, B&& b, double& a_us, double& b_us) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> ratios, at, bt;
  auto run = [&](auto& fn) {
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { fn(t, per_block); });
    for (auto& th : ts) th.join();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / (per_block * threads);
  };
  for (int i = 0; i < blocks; ++i) {
    double ta = run(a), tb = run(b);
    at.push_back(ta);
    bt.push_back(tb);
    ratios.push_back(tb / ta);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  a_us = median(at);
  b_us = median(bt);
  return median(ratios);
}

void PrintSummary() {
  Env& env = *g_env;
  std::printf("\n== PKCS#11 provider vs raw PKCS#11 (SoftHSM2, CKM_AES_KEY_WRAP_PAD), paired ==\n");
  for (int threads : {1, 2}) {
    std::vector<RawSession> raw(static_cast<size_t>(threads));
    for (auto& r : raw) {
      if (!r.Open(env)) return;
    }
    double prov_us = 0, raw_us = 0;
    double ratio = Paired(
        15, 300, threads,
        [&](int t, int n) {
          std::vector<uint8_t> key(32, static_cast<uint8_t>(t));
          for (int i = 0; i < n; ++i) ProviderRoundTrip(*env.pkcs11, env.uri, key);
        },
        [&](int t, int n) {
          uint8_t key[32];
          std::memset(key, t, sizeof(key));
          for (int i = 0; i < n; ++i) raw[static_cast<size_t>(t)].RoundTrip(env.p11, key);
        },
        prov_us, raw_us);
    for (auto& r : raw) env.p11->C_CloseSession(r.s);
    std::printf("  %d thread%s: provider %.1f k wrap+unwrap/s, raw %.1f k/s: ratio %.3f (target >= 0.90) %s\n", threads,
                threads == 1 ? " " : "s", 1e3 / prov_us, 1e3 / raw_us, ratio, ratio >= 0.90 ? "PASS" : "MISS");
  }
  std::vector<uint8_t> plain(1024, 7), out;
  const ses::EncryptionContext ctx{{"bench", "1"}};
  double hsm_us = 0, file_us = 0;
  double ratio = Paired(
      200, 1000, 1, [&](int, int n) { for (int i = 0; i < n; ++i) (void)env.hsm_engine->EncryptTo("default", ctx, plain, out); },
      [&](int, int n) { for (int i = 0; i < n; ++i) (void)env.file_engine->EncryptTo("default", ctx, plain, out); },
      hsm_us, file_us);
  std::printf("  engine encrypt 1 KiB: SoftHSM keyring %.0f ns/msg, keyfile keyring %.0f ns/msg: SoftHSM / keyfile "
              "throughput %.2f (target >= 0.90, within 10%%) %s\n",
              hsm_us * 1e3, file_us * 1e3, ratio, ratio >= 0.90 ? "PASS" : "MISS");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Env env;
  if (!SetUp(env)) {
    std::fprintf(stderr, "ses_pkcs11_bench: SoftHSM set-up failed\n");
    return 1;
  }
  g_env = &env;
  benchmark::RegisterBenchmark("BM_ProviderWrapUnwrap", BM_ProviderWrapUnwrap)->Threads(1)->Threads(2)->UseRealTime();
  benchmark::RegisterBenchmark("BM_RawPkcs11WrapUnwrap", BM_RawPkcs11WrapUnwrap)->Threads(1)->Threads(2)->UseRealTime();
  benchmark::RegisterBenchmark("BM_EngineEncryptSoftHsm", BM_EngineEncryptSoftHsm);
  benchmark::RegisterBenchmark("BM_EngineEncryptKeyfile", BM_EngineEncryptKeyfile);
  benchmark::RunSpecifiedBenchmarks();
  PrintSummary();
  g_env = nullptr;
  return 0;
}
