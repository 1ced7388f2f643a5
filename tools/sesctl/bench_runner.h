// The load generator behind `sesctl bench`: keeps N calls in flight against
// sesd for a fixed time, or sends at a fixed rate, and measures throughput
// and latency.
//
// Two ways to keep N calls in flight:
// - callback: one channel, gRPC's callback API; a completed call starts the
//   next from its completion (no thread per call).
// - threads: N threads, each with its own channel (own TCP connection) and
//   blocking calls.
// With a rate (open loop), call i is due at start + i/rate and its latency is
// measured from that due time, not from when it was sent: a stalled server
// shows as latency instead of silently lowering the offered load
// (coordinated omission). At most N calls are in flight even then; calls
// that could not be sent before the end are counted as unsent.
//
// Thread safety: RunBench is one blocking call; `progress` runs on the
// calling thread once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "latency_histogram.h"
#include "ses/client/client.h"

namespace ses::cli {

enum class BenchOp { kEncrypt, kDecrypt, kBatchEncrypt, kEcho };
enum class BenchMode { kCallback, kThreads };

struct BenchOptions {
  BenchOp op = BenchOp::kEncrypt;
  BenchMode mode = BenchMode::kCallback;
  size_t size = 1024;             // bytes per message (payload for echo)
  int concurrency = 1;            // calls in flight
  std::chrono::milliseconds duration{10000};
  double rate = 0;                // calls per second; 0 = closed loop
  int batch = 100;                // items per batch-encrypt call
  std::string keyring = "default";
  EncryptionContext context;
};

struct BenchErrors {
  uint64_t count = 0;
  std::string first_message;  // the server's message: no payload bytes
};

struct BenchReport {
  uint64_t calls_ok = 0;        // calls that returned OK
  uint64_t messages_ok = 0;     // items sealed (batch) or messages processed
  uint64_t bytes_ok = 0;        // payload bytes of messages_ok
  uint64_t calls_failed = 0;    // calls that failed as a whole
  uint64_t items_failed = 0;    // batch items that failed inside OK calls
  uint64_t calls_late = 0;      // open loop: sent more than 1 ms after due
  uint64_t calls_unsent = 0;    // open loop: due in the run but not sent by its end
  double elapsed_s = 0;         // from the first send to the last completion
  std::map<std::string, BenchErrors> errors;  // by status code name
  LatencyHistogram latency;     // per call, nanoseconds
};

struct BenchProgress {
  double elapsed_s = 0;
  uint64_t calls_done = 0;  // ok + failed so far
  uint64_t calls_failed = 0;
};

// Warms up (one call per channel, which must succeed: a server that is not
// there gives one clear error instead of a run full of failures), then runs.
// Fails only for setup problems; call failures are counted in the report.
StatusOr<std::unique_ptr<BenchReport>> RunLoad(const client::ClientOptions& client_options,
                                               const BenchOptions& options,
                                               const std::function<void(const BenchProgress&)>& progress);

}  // namespace ses::cli
