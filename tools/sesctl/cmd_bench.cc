// bench: load against sesd (bench_runner.h does the work), a progress line
// on stderr each second and a summary on stdout, as text or --json.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "bench_runner.h"
#include "common.h"

namespace ses::cli {
namespace {

constexpr size_t kMaxSize = 64 * 1024 * 1024;  // the client's reply limit
constexpr int kMaxConcurrency = 10000;
constexpr int kMaxThreads = 512;  // threads mode: a thread and a connection each
constexpr int kMaxBatch = 100000;
constexpr double kMaxDurationSeconds = 24 * 3600;

const char* OpName(BenchOp op) {
  switch (op) {
    case BenchOp::kEncrypt: return "encrypt";
    case BenchOp::kDecrypt: return "decrypt";
    case BenchOp::kBatchEncrypt: return "batch-encrypt";
    case BenchOp::kEcho: return "echo";
  }
  return "?";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

double Ms(uint64_t nanos) { return static_cast<double>(nanos) / 1e6; }

struct Rates {
  double calls_per_s, messages_per_s, mb_per_s;
};

Rates RatesOf(const BenchReport& r) {
  double s = r.elapsed_s > 0 ? r.elapsed_s : 1;
  return {static_cast<double>(r.calls_ok) / s, static_cast<double>(r.messages_ok) / s,
          static_cast<double>(r.bytes_ok) / s / 1e6};
}

void PrintText(const BenchOptions& o, const std::string& server, const BenchReport& r) {
  Rates x = RatesOf(r);
  const LatencyHistogram& h = r.latency;
  std::ostringstream out;
  out << "sesctl bench: " << OpName(o.op) << " against " << server << "\n"
      << "  size " << o.size << " B, concurrency " << o.concurrency << ", "
      << (o.mode == BenchMode::kThreads ? "threads mode" : "callback mode")
      << (o.op == BenchOp::kBatchEncrypt ? ", batch " + std::to_string(o.batch) : "") << ", "
      << (o.rate > 0 ? "open loop at " + Fixed(o.rate, 0) + " calls/s" : std::string("closed loop")) << ", "
      << Fixed(r.elapsed_s, 2) << " s\n";
  if (o.op == BenchOp::kBatchEncrypt) {
    out << "  messages/s:  " << Fixed(x.messages_per_s, 1) << "\n"
        << "  calls/s:     " << Fixed(x.calls_per_s, 1) << "\n";
  } else {
    out << "  ops/s:       " << Fixed(x.calls_per_s, 1) << "\n";
  }
  out << "  MB/s:        " << Fixed(x.mb_per_s, 2) << "\n"
      << "  calls:       " << r.calls_ok << " ok, " << r.calls_failed << " failed";
  if (o.op == BenchOp::kBatchEncrypt) out << "; items failed: " << r.items_failed;
  if (o.rate > 0) out << "; sent late (>1 ms): " << r.calls_late << "; never sent (server too slow): " << r.calls_unsent;
  out << "\n  latency ms:  p50 " << Fixed(Ms(h.Percentile(50)), 3) << "  p95 " << Fixed(Ms(h.Percentile(95)), 3)
      << "  p99 " << Fixed(Ms(h.Percentile(99)), 3) << "  max " << Fixed(Ms(h.max()), 3) << "  mean "
      << Fixed(h.mean() / 1e6, 3) << "\n";
  if (r.errors.empty()) {
    out << "  errors:      none\n";
  } else {
    out << "  errors:\n";
    for (const auto& [code, e] : r.errors) out << "    " << code << " " << e.count << " (first: " << e.first_message << ")\n";
  }
  std::cout << out.str();
}

void PrintJson(const BenchOptions& o, const std::string& server, const BenchReport& r) {
  Rates x = RatesOf(r);
  const LatencyHistogram& h = r.latency;
  std::ostringstream out;
  out << "{\"op\":" << JsonString(OpName(o.op)) << ",\"server\":" << JsonString(server)
      << ",\"mode\":" << JsonString(o.mode == BenchMode::kThreads ? "threads" : "callback") << ",\"size\":" << o.size
      << ",\"concurrency\":" << o.concurrency << ",\"batch\":" << (o.op == BenchOp::kBatchEncrypt ? o.batch : 1)
      << ",\"rate\":" << Fixed(o.rate, 3) << ",\"elapsed_s\":" << Fixed(r.elapsed_s, 6)
      << ",\"calls_ok\":" << r.calls_ok << ",\"calls_failed\":" << r.calls_failed
      << ",\"messages_ok\":" << r.messages_ok << ",\"items_failed\":" << r.items_failed
      << ",\"calls_late\":" << r.calls_late << ",\"calls_unsent\":" << r.calls_unsent << ",\"bytes_ok\":" << r.bytes_ok
      << ",\"ops_per_s\":" << Fixed(x.calls_per_s, 3) << ",\"calls_per_s\":" << Fixed(x.calls_per_s, 3)
      << ",\"messages_per_s\":" << Fixed(x.messages_per_s, 3) << ",\"mb_per_s\":" << Fixed(x.mb_per_s, 3)
      << ",\"latency_ms\":{\"p50\":" << Fixed(Ms(h.Percentile(50)), 6) << ",\"p95\":" << Fixed(Ms(h.Percentile(95)), 6)
      << ",\"p99\":" << Fixed(Ms(h.Percentile(99)), 6) << ",\"max\":" << Fixed(Ms(h.max()), 6)
      << ",\"mean\":" << Fixed(h.mean() / 1e6, 6) << "},\"errors\":{";
  bool first = true;
  for (const auto& [code, e] : r.errors) {
    out << (first ? "" : ",") << JsonString(code) << ":{\"count\":" << e.count
        << ",\"first_message\":" << JsonString(e.first_message) << "}";
    first = false;
  }
  out << "}}\n";
  std::cout << out.str();
}

}  // namespace

int RunBench(const Globals& g, const Args& args) {
  BenchOptions o;
  std::string op = "encrypt", mode = "callback";
  long long size = 1024;
  int concurrency = 1, batch = 100;
  double duration = 10, rate = 0;
  std::vector<std::string> context;
  po::options_description d("options");
  d.add_options()
      ("op", po::value(&op)->default_value(op), "encrypt, decrypt, batch-encrypt or echo")
      ("size", po::value(&size)->default_value(size), "bytes per message")
      ("concurrency", po::value(&concurrency)->default_value(concurrency), "calls in flight")
      ("duration", po::value(&duration)->default_value(duration), "seconds to run")
      ("rate", po::value(&rate)->default_value(rate), "open loop: calls per second (0: closed loop)")
      ("batch", po::value(&batch)->default_value(batch), "items per batch-encrypt call")
      ("keyring,k", po::value(&o.keyring)->default_value(o.keyring), "keyring name")
      ("context", po::value(&context)->composing(), "encryption context entry KEY=VALUE (repeatable)")
      ("mode", po::value(&mode)->default_value(mode), "callback (one channel) or threads (a channel per call)")
      ("json", "print the summary as one JSON object");
  int code = 0;
  auto vm = ParseArgs("bench", args, d, nullptr, code);
  if (!vm) return code;
  if (!g.server) return Usage("bench: needs a server: --server HOST:PORT or --dev DIR");

  static const std::map<std::string, BenchOp> kOps = {{"encrypt", BenchOp::kEncrypt},
                                                      {"decrypt", BenchOp::kDecrypt},
                                                      {"batch-encrypt", BenchOp::kBatchEncrypt},
                                                      {"echo", BenchOp::kEcho}};
  auto it = kOps.find(op);
  if (it == kOps.end()) return Usage("bench: bad --op '" + op + "': expected encrypt, decrypt, batch-encrypt or echo");
  o.op = it->second;
  if (mode != "callback" && mode != "threads") return Usage("bench: bad --mode '" + mode + "': expected callback or threads");
  o.mode = mode == "threads" ? BenchMode::kThreads : BenchMode::kCallback;
  if (size < 0 || static_cast<unsigned long long>(size) > kMaxSize) {
    return Usage("bench: --size must be 0-" + std::to_string(kMaxSize) + " bytes");
  }
  o.size = static_cast<size_t>(size);
  const int max_concurrency = o.mode == BenchMode::kThreads ? kMaxThreads : kMaxConcurrency;
  if (concurrency < 1 || concurrency > max_concurrency) {
    return Usage("bench: --concurrency must be 1-" + std::to_string(max_concurrency) +
                 (o.mode == BenchMode::kThreads ? " in threads mode" : ""));
  }
  o.concurrency = concurrency;
  if (!(duration > 0) || duration > kMaxDurationSeconds) return Usage("bench: --duration must be more than 0 and at most 86400 seconds");
  o.duration = std::chrono::milliseconds(static_cast<int64_t>(duration * 1000 + 0.5));
  if (o.duration.count() == 0) o.duration = std::chrono::milliseconds(1);
  if (!(rate >= 0) || rate > 1e7) return Usage("bench: --rate must be 0 (closed loop) to 10000000 calls per second");
  o.rate = rate;
  if (!(*vm)["batch"].defaulted() && o.op != BenchOp::kBatchEncrypt) return Usage("bench: --batch applies to --op batch-encrypt only");
  if (batch < 1 || batch > kMaxBatch) return Usage("bench: --batch must be 1-" + std::to_string(kMaxBatch));
  o.batch = batch;
  if (o.op == BenchOp::kBatchEncrypt && o.size * static_cast<size_t>(o.batch) > kMaxSize) {
    return Usage("bench: --size times --batch must be at most " + std::to_string(kMaxSize) + " bytes");
  }
  auto ctx = ParseContext(context);
  if (!ctx.ok()) return Usage("bench: " + ctx.status().message());
  o.context = *ctx;

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto progress = [&](const BenchProgress& p) {
    double rate_so_far = p.elapsed_s > 0 ? static_cast<double>(p.calls_done) / p.elapsed_s : 0;
    std::string line = "sesctl bench: " + Fixed(p.elapsed_s, 0) + " s, " + Fixed(rate_so_far, 0) + " ops/s, " +
                       std::to_string(p.calls_done) + " calls, " + std::to_string(p.calls_failed) + " failed";
    std::cerr << (tty ? "\r" + line + "   " : line + "\n") << std::flush;
  };
  auto report = RunLoad(*g.server, o, progress);
  if (tty) std::cerr << "\n";
  if (!report.ok()) return Fail("bench", report.status());
  if (vm->count("json")) {
    PrintJson(o, g.server->server, **report);
  } else {
    PrintText(o, g.server->server, **report);
  }
  if ((*report)->calls_ok == 0) {
    if ((*report)->errors.empty()) return Fail("bench", InternalError("no call completed"));
    const auto& [name, e] = *(*report)->errors.begin();
    return Fail("bench", Status(StatusCode::kUnavailable, "every call failed; " + name + ": " + e.first_message));
  }
  return 0;
}

}  // namespace ses::cli
