// ses_engine_bench: what the engine's per-message path costs, and how that
// compares with raw AES-256-GCM measured in the same process and run.
//
// The engine is set up the way a user sets it up: the real keyfile and
// cipher-openssl plugins loaded from the build tree, a master key created
// through the keyfile plugin in a temporary directory, one keyring 'default'
// (mode any, aes-256-gcm, 64 KiB frames) and the data-key cache on with its
// default limits. Data keys are therefore cached (one warm-up message primes
// each direction) and the benchmarks measure the per-message path:
// HKDF, header, cipher-context lease, frames and the output allocation.
//
// Baselines, per message on one reused EVP_CIPHER_CTX and a pre-fetched
// EVP_CIPHER:
//   BM_RawAesGcmOneKey    new 12-byte IV (a counter), Update, Final, get tag.
//   BM_RawAesGcmFreshKey  the same with a new 32-byte key per message: the
//                         floor for any design with a key per message.
// BM_RawAesGcmFreshKey at 1 KiB also runs on 1 and 2 threads as a control:
// threads that share nothing show how much CPU the machine actually gave.
//
// After the run, a table gives engine/raw ratios and the 2-thread scaling,
// computed from this run's own figures (medians over repetitions), with
// PASS/MISS beside each target. Targets are reported, never enforced: the
// exit status only says whether the benchmarks ran.
//
// Defaults (any flag given on the command line wins): 5 repetitions of at
// least kMinTime seconds each, in random order across benchmarks, only their
// aggregates shown. The whole program takes about half a minute.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ses/engine.h"
#include "ses/registry.h"
#include "ses/status.h"

namespace {

constexpr int64_t kSizes[] = {1024, 64 * 1024, 1024 * 1024};
constexpr int64_t kThreadedSize = 1024;
constexpr double kMinTime = 0.2;  // seconds per repetition
constexpr int kDefaultRepetitions = 5;
constexpr size_t kKeySize = 32;
constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;
constexpr char kKeyring[] = "default";
constexpr char kMasterKeyUri[] = "keyfile://master.key";

// ---------------------------------------------------------------------------
// Shared state, built once in main before any benchmark runs.

// A temporary directory removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  ses::Status Create() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ses-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return ses::InternalError("cannot create a temporary directory from " + tmpl);
    }
    path_ = tmpl;
    return ses::OkStatus();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// Members are destroyed bottom-up: the engine (and the plugin instances it
// holds) before the registry, the key directory last.
struct BenchEnv {
  TempDir dir;
  std::unique_ptr<EVP_CIPHER, CipherFree> aes_gcm;  // for the raw baselines
  std::unique_ptr<ses::Registry> registry;
  std::unique_ptr<ses::Engine> engine;
};

BenchEnv* g_env = nullptr;

const ses::EncryptionContext& BenchContext() {
  static const ses::EncryptionContext context{{"bench", "1"}};
  return context;
}

ses::Status SetUp(BenchEnv& env) {
  env.aes_gcm.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!env.aes_gcm) return ses::InternalError("EVP_CIPHER_fetch(AES-256-GCM) failed");

  SES_RETURN_IF_ERROR(env.dir.Create());
  env.registry = std::make_unique<ses::Registry>();
  SES_RETURN_IF_ERROR(env.registry->LoadDirectory(SES_TEST_PLUGIN_DIR));

  SES_ASSIGN_OR_RETURN(auto keyfile, env.registry->NewKeyProvider("keyfile", {{"dir", env.dir.path().string()}}));
  auto created = keyfile->CreateKey(kMasterKeyUri);
  if (!created.ok()) return created.status().WithContext("creating the master key");
  SES_ASSIGN_OR_RETURN(auto cipher, env.registry->NewCipher("cipher-openssl", {}));

  ses::EngineOptions options;
  ses::KeyringConfig keyring;
  keyring.name = kKeyring;
  keyring.mode = ses::KeyringMode::kAny;
  keyring.key_uris = {kMasterKeyUri};
  keyring.suite_id = ses::kSuiteAes256Gcm;
  options.keyrings.push_back(std::move(keyring));
  options.providers.push_back({"keyfile", std::move(keyfile)});
  options.cipher = std::move(cipher);
  options.cache = ses::CacheLimits{};  // enabled, default limits
  SES_ASSIGN_OR_RETURN(env.engine, ses::Engine::Create(std::move(options)));
  return ses::OkStatus();
}

// Deterministic, non-constant plaintext.
std::vector<uint8_t> MakePlaintext(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
  return p;
}

void SetThroughput(benchmark::State& state, int64_t size) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * size);
}

// ---------------------------------------------------------------------------
// Benchmarks.

void BM_EngineEncrypt(benchmark::State& state) {
  const int64_t size = state.range(0);
  const std::vector<uint8_t> plaintext = MakePlaintext(static_cast<size_t>(size));
  ses::Engine& engine = *g_env->engine;
  // The output buffer is reused across messages, as the raw baselines reuse
  // theirs: the comparison is of the crypto path, not of malloc.
  std::vector<uint8_t> ct;
  for (auto _ : state) {
    ses::Status s = engine.EncryptTo(kKeyring, BenchContext(), plaintext, ct);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(ct.data());
  }
  SetThroughput(state, size);
}

void BM_EngineDecrypt(benchmark::State& state) {
  const int64_t size = state.range(0);
  const std::vector<uint8_t> plaintext = MakePlaintext(static_cast<size_t>(size));
  ses::Engine& engine = *g_env->engine;
  auto ct = engine.Encrypt(kKeyring, BenchContext(), plaintext);
  if (!ct.ok()) {
    state.SkipWithError(ct.status().ToString().c_str());
    return;
  }
  // Warm-up: also puts the data key in the decrypt cache, and checks the
  // round trip once so a broken engine cannot post a fast figure.
  auto check = engine.Decrypt(*ct, BenchContext());
  if (!check.ok() || *check != plaintext) {
    state.SkipWithError("decrypt round trip failed");
    return;
  }
  std::vector<uint8_t> pt;
  for (auto _ : state) {
    ses::Status s = engine.DecryptTo(*ct, BenchContext(), pt);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(pt.data());
  }
  SetThroughput(state, size);
}

// One AES-256-GCM message per iteration on a context keyed once up front.
// With fresh_key, every message also sets a new key on that context (the key
// schedule and GHASH key: what a per-message key costs at the least).
void RawAesGcm(benchmark::State& state, bool fresh_key) {
  const int64_t size = state.range(0);
  const std::vector<uint8_t> in = MakePlaintext(static_cast<size_t>(size));
  std::vector<uint8_t> out(in.size());
  uint8_t key[kKeySize];
  for (size_t i = 0; i < kKeySize; ++i) key[i] = static_cast<uint8_t>(0xa5 ^ i);
  uint8_t iv[kIvSize] = {};
  uint8_t tag[kTagSize];
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), g_env->aes_gcm.get(), key, iv, nullptr) != 1) {
    state.SkipWithError("cannot set up the EVP context");
    return;
  }
  uint64_t counter = 0;
  for (auto _ : state) {
    ++counter;
    std::memcpy(iv + kIvSize - sizeof(counter), &counter, sizeof(counter));
    if (fresh_key) std::memcpy(key, &counter, sizeof(counter));
    int len = 0;
    int final_len = 0;
    bool ok = EVP_EncryptInit_ex2(ctx.get(), nullptr, fresh_key ? key : nullptr, iv, nullptr) == 1 &&
              EVP_EncryptUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(size)) == 1 &&
              EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), tag) == 1;
    if (!ok) {
      state.SkipWithError("EVP AES-256-GCM encryption failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag);
    benchmark::ClobberMemory();
  }
  SetThroughput(state, size);
}

void BM_RawAesGcmOneKey(benchmark::State& state) { RawAesGcm(state, false); }
void BM_RawAesGcmFreshKey(benchmark::State& state) { RawAesGcm(state, true); }

// Size by size: with --benchmark_enable_random_interleaving=false the
// figures a ratio compares still run close together in time.
void RegisterAll() {
  for (int64_t size : kSizes) {
    benchmark::RegisterBenchmark("BM_RawAesGcmOneKey", BM_RawAesGcmOneKey)->Arg(size)->MinTime(kMinTime);
    benchmark::RegisterBenchmark("BM_RawAesGcmFreshKey", BM_RawAesGcmFreshKey)->Arg(size)->MinTime(kMinTime);
    benchmark::RegisterBenchmark("BM_EngineEncrypt", BM_EngineEncrypt)->Arg(size)->MinTime(kMinTime);
    benchmark::RegisterBenchmark("BM_EngineDecrypt", BM_EngineDecrypt)->Arg(size)->MinTime(kMinTime);
  }
  benchmark::RegisterBenchmark("BM_EngineEncrypt", BM_EngineEncrypt)
      ->Arg(kThreadedSize)
      ->MinTime(kMinTime)
      ->UseRealTime()
      ->Threads(1)
      ->Threads(2);
  // Control: threads sharing nothing. What it scales to is what the machine
  // gave the process at the time, the ceiling for the engine's figure.
  benchmark::RegisterBenchmark("BM_RawAesGcmFreshKey", BM_RawAesGcmFreshKey)
      ->Arg(kThreadedSize)
      ->MinTime(kMinTime)
      ->UseRealTime()
      ->Threads(1)
      ->Threads(2);
}

// ---------------------------------------------------------------------------
// Collecting results and printing the ratios.

// One benchmark instance: function, argument, threads, real time or not.
using RunKey = std::tuple<std::string, std::string, int64_t, bool>;

RunKey KeyOf(const std::string& function, int64_t arg, int64_t threads = 1, bool real_time = false) {
  return {function, std::to_string(arg), threads, real_time};
}

struct Figures {
  double bytes_per_second = 0;
  double items_per_second = 0;
  double items_per_cpu_second = 0;  // per CPU-second, all threads' CPU counted
};

// The console output as usual, plus a copy of every result for the summary.
// Uses the median aggregate where repetitions produced one, else the median
// of the plain runs.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      RunKey key{run.run_name.function_name, run.run_name.args, run.threads, run.run_name.time_type == "real_time"};
      Figures f;
      f.bytes_per_second = Counter(run, "bytes_per_second");
      f.items_per_second = Counter(run, "items_per_second");
      if (run.cpu_accumulated_time > 0) {
        f.items_per_cpu_second = static_cast<double>(run.iterations) / run.cpu_accumulated_time;
      }
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") medians_[key] = f;
        // Coefficient of variation across repetitions, as a fraction.
        if (run.aggregate_name == "cv" && f.bytes_per_second > worst_cv_) {
          worst_cv_ = f.bytes_per_second;
          worst_cv_name_ = run.run_name.str();
        }
      } else {
        plain_[key].push_back(f);
      }
    }
  }

  std::optional<Figures> Find(const RunKey& key) const {
    if (auto it = medians_.find(key); it != medians_.end()) return it->second;
    auto it = plain_.find(key);
    if (it == plain_.end() || it->second.empty()) return std::nullopt;
    std::vector<Figures> v = it->second;
    std::sort(v.begin(), v.end(),
              [](const Figures& a, const Figures& b) { return a.bytes_per_second < b.bytes_per_second; });
    return v[v.size() / 2];
  }

  double worst_cv() const { return worst_cv_; }
  const std::string& worst_cv_name() const { return worst_cv_name_; }

 private:
  static double Counter(const Run& run, const char* name) {
    auto it = run.counters.find(name);
    return it == run.counters.end() ? 0.0 : static_cast<double>(it->second);
  }

  std::map<RunKey, Figures> medians_;
  std::map<RunKey, std::vector<Figures>> plain_;
  double worst_cv_ = 0;
  std::string worst_cv_name_;
};

std::string SizeName(int64_t size) {
  if (size >= 1024 * 1024) return std::to_string(size / (1024 * 1024)) + " MiB";
  if (size >= 1024) return std::to_string(size / 1024) + " KiB";
  return std::to_string(size) + " B";
}

std::string Mbps(const std::optional<Figures>& f) {
  if (!f) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", f->bytes_per_second / 1e6);
  return buf;
}

std::string Rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2f M/s", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1f k/s", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f /s", per_second);
  }
  return buf;
}

std::string Msgs(const std::optional<Figures>& f) { return f ? Rate(f->items_per_second) : "n/a"; }

std::optional<double> Ratio(const std::optional<Figures>& a, const std::optional<Figures>& b) {
  if (!a || !b || b->bytes_per_second <= 0) return std::nullopt;
  return a->bytes_per_second / b->bytes_per_second;
}

std::string RatioText(const std::optional<double>& r) {
  if (!r) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", *r);
  return buf;
}

std::string TimesText(const std::optional<double>& r) { return r ? RatioText(r) + "x" : "n/a"; }

void PrintTarget(const char* what, const std::optional<double>& value, double goal) {
  const char* verdict = !value ? "n/a (not run)" : (*value >= goal ? "PASS" : "MISS");
  std::printf("  %-46s %6s  >= %.2f  %s\n", what, RatioText(value).c_str(), goal, verdict);
}

// Paired measurement: the engine and the raw fresh-key loop take turns in
// short blocks, so both see the same moments of a noisy machine; the median
// of the per-block ratios is what the 1 KiB target is judged on.
struct Paired {
  double engine_ns = 0;  // median ns per message
  double raw_ns = 0;
  double ratio = 0;      // median over blocks of raw time / engine time
};

std::optional<Paired> PairedRatio(ses::Engine& engine, bool decrypt, size_t size, int blocks, int per_block,
                                  bool fresh_key = true) {
  using Clock = std::chrono::steady_clock;
  const std::vector<uint8_t> plaintext = MakePlaintext(size);
  std::vector<uint8_t> ct, pt;
  if (!engine.EncryptTo(kKeyring, BenchContext(), plaintext, ct).ok()) return std::nullopt;
  const std::vector<uint8_t> sealed = ct;

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  uint8_t key[kKeySize] = {}, iv[kIvSize] = {}, tag[kTagSize];
  std::vector<uint8_t> out(size);
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), g_env->aes_gcm.get(), key, iv, nullptr) != 1) return std::nullopt;
  uint64_t counter = 0;

  std::vector<double> ratios, eng, raw;
  for (int b = 0; b < blocks; ++b) {
    auto t0 = Clock::now();
    for (int i = 0; i < per_block; ++i) {
      ses::Status st = decrypt ? engine.DecryptTo(sealed, BenchContext(), pt)
                               : engine.EncryptTo(kKeyring, BenchContext(), plaintext, ct);
      if (!st.ok()) return std::nullopt;
    }
    auto t1 = Clock::now();
    for (int i = 0; i < per_block; ++i) {
      ++counter;
      std::memcpy(iv + kIvSize - sizeof(counter), &counter, sizeof(counter));
      std::memcpy(key, &counter, sizeof(counter));
      int len = 0, final_len = 0;
      if (EVP_EncryptInit_ex2(ctx.get(), nullptr, fresh_key ? key : nullptr, iv, nullptr) != 1 ||
          EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(size)) != 1 ||
          EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1 ||
          EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), tag) != 1) {
        return std::nullopt;
      }
      benchmark::DoNotOptimize(out.data());
    }
    auto t2 = Clock::now();
    double e = std::chrono::duration<double, std::nano>(t1 - t0).count() / per_block;
    double r = std::chrono::duration<double, std::nano>(t2 - t1).count() / per_block;
    eng.push_back(e);
    raw.push_back(r);
    ratios.push_back(r / e);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return Paired{median(eng), median(raw), median(ratios)};
}

void PrintSummary(const CapturingReporter& r, const ses::CacheStats& cache) {
  std::printf("\n== SES engine vs raw AES-256-GCM, same run ==\n");
  std::printf("Medians over repetitions; single-thread figures are per CPU-second; MB = 10^6 bytes.\n");
  std::printf("Raw baselines are encryptions; decrypt ratios compare with them (GCM does the same work).\n\n");
  std::printf("  %-8s %-5s %9s %11s %11s %11s %11s %11s %9s %9s\n", "size", "op", "SES MB/s", "SES msg/s",
              "1-key MB/s", "1-key msg/s", "fresh MB/s", "fresh msg/s", "/1-key", "/fresh");
  for (int64_t size : kSizes) {
    auto one = r.Find(KeyOf("BM_RawAesGcmOneKey", size));
    auto fresh = r.Find(KeyOf("BM_RawAesGcmFreshKey", size));
    for (const char* op : {"enc", "dec"}) {
      auto eng = r.Find(KeyOf(op[0] == 'e' ? "BM_EngineEncrypt" : "BM_EngineDecrypt", size));
      std::printf("  %-8s %-5s %9s %11s %11s %11s %11s %11s %9s %9s\n", SizeName(size).c_str(), op,
                  Mbps(eng).c_str(), Msgs(eng).c_str(), Mbps(one).c_str(), Msgs(one).c_str(), Mbps(fresh).c_str(),
                  Msgs(fresh).c_str(), RatioText(Ratio(eng, one)).c_str(), RatioText(Ratio(eng, fresh)).c_str());
    }
  }

  auto t1 = r.Find(KeyOf("BM_EngineEncrypt", kThreadedSize, 1, true));
  auto t2 = r.Find(KeyOf("BM_EngineEncrypt", kThreadedSize, 2, true));
  std::optional<double> scaling = Ratio(t2, t1);
  std::printf("\nScaling, BM_EngineEncrypt %s, wall-clock time:\n", SizeName(kThreadedSize).c_str());
  std::printf("  1 thread %s, 2 threads %s: %s\n", Msgs(t1).c_str(), Msgs(t2).c_str(), TimesText(scaling).c_str());
  if (t1 && t2 && t1->items_per_cpu_second > 0) {
    // Separates the engine's own contention (CPU per message grows) from a
    // machine that did not give the process two whole cores.
    double cpu_ratio = t2->items_per_cpu_second / t1->items_per_cpu_second;
    double cores = t2->items_per_second / t2->items_per_cpu_second;
    std::printf("  messages per CPU-second, 2 threads vs 1: %.2f; CPU used by the 2-thread run: %.2f cores\n",
                cpu_ratio, cores);
  }
  auto c1 = r.Find(KeyOf("BM_RawAesGcmFreshKey", kThreadedSize, 1, true));
  auto c2 = r.Find(KeyOf("BM_RawAesGcmFreshKey", kThreadedSize, 2, true));
  std::optional<double> control = Ratio(c2, c1);
  std::printf("  control (raw fresh-key, threads share nothing): %s", TimesText(control).c_str());
  if (control && scaling) std::printf("; engine scaling / control: %.2f", *scaling / *control);
  std::printf("\n  (a control well under 2x means the machine did not give this process two free cores)\n");

  std::printf("\nTargets (reported, not enforced):\n");
  PrintTarget("encrypt 1 MiB / raw one-key (medians above)",
              Ratio(r.Find(KeyOf("BM_EngineEncrypt", 1024 * 1024)), r.Find(KeyOf("BM_RawAesGcmOneKey", 1024 * 1024))),
              0.90);
  if (auto p = PairedRatio(*g_env->engine, false, 1024 * 1024, 60, 4, /*fresh_key=*/false)) {
    PrintTarget("encrypt 1 MiB / raw one-key (paired)", p->ratio, 0.90);
    std::printf("  %46s  engine %.0f us/msg, raw one-key %.0f us/msg\n", "", p->engine_ns / 1e3, p->raw_ns / 1e3);
  }
  PrintTarget("encrypt 1 KiB / raw fresh-key (medians above)",
              Ratio(r.Find(KeyOf("BM_EngineEncrypt", 1024)), r.Find(KeyOf("BM_RawAesGcmFreshKey", 1024))), 0.65);
  for (bool decrypt : {false, true}) {
    auto p = PairedRatio(*g_env->engine, decrypt, 1024, 400, 500);
    std::string what = std::string(decrypt ? "decrypt" : "encrypt") + " 1 KiB / raw fresh-key (paired)";
    PrintTarget(what.c_str(), p ? std::optional<double>(p->ratio) : std::nullopt, 0.65);
    if (p) std::printf("  %46s  engine %.0f ns/msg, raw fresh-key %.0f ns/msg\n", "", p->engine_ns, p->raw_ns);
  }
  PrintTarget("encrypt 1 KiB, 2 threads / 1 thread", scaling, 1.80);

  if (r.worst_cv() > 0) {
    std::printf("\nNoise: the largest spread across repetitions was %.1f%% (coefficient of variation, %s)%s\n",
                100 * r.worst_cv(), r.worst_cv_name().c_str(),
                r.worst_cv() > 0.05 ? "; treat ratios near a goal as uncertain" : "");
  }
  std::printf("\nData-key cache: %llu hits, %llu misses, %llu evictions (misses = provider calls)\n",
              static_cast<unsigned long long>(cache.hits), static_cast<unsigned long long>(cache.misses),
              static_cast<unsigned long long>(cache.evictions));
}

bool HasFlag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with(name)) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Defaults that the command line may override. The machine is shared and
  // its speed drifts within seconds: repetitions run in random order spread
  // each benchmark over the whole run, and the medians compared then saw the
  // same mix of slow and fast moments.
  std::vector<std::string> defaults;
  if (!HasFlag(argc, argv, "--benchmark_repetitions")) {
    defaults.push_back("--benchmark_repetitions=" + std::to_string(kDefaultRepetitions));
  }
  if (!HasFlag(argc, argv, "--benchmark_enable_random_interleaving")) {
    defaults.push_back("--benchmark_enable_random_interleaving=true");
  }
  if (!HasFlag(argc, argv, "--benchmark_display_aggregates_only")) {
    defaults.push_back("--benchmark_display_aggregates_only=true");
  }
  std::vector<char*> args(argv, argv + argc);
  for (std::string& d : defaults) args.insert(args.begin() + 1, d.data());
  int new_argc = static_cast<int>(args.size());
  args.push_back(nullptr);

  benchmark::Initialize(&new_argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(new_argc, args.data())) return 1;

  BenchEnv env;
  if (ses::Status s = SetUp(env); !s.ok()) {
    std::fprintf(stderr, "ses_engine_bench: setup failed: %s\n", s.ToString().c_str());
    return 1;
  }
  g_env = &env;

  // Prime the encrypt cache: the first message makes and wraps the data key.
  if (auto ct = env.engine->Encrypt(kKeyring, BenchContext(), MakePlaintext(16)); !ct.ok()) {
    std::fprintf(stderr, "ses_engine_bench: warm-up encrypt failed: %s\n", ct.status().ToString().c_str());
    return 1;
  }

  RegisterAll();
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter, env.engine->cache_stats());
  std::fflush(stdout);
  benchmark::Shutdown();
  g_env = nullptr;
  return 0;
}
