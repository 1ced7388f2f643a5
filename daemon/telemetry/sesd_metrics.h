// SesdMetrics: the metric set of sesd, registered in one MetricRegistry.
//
//   ses_requests_total{method,code}                counter, code = gRPC name
//   ses_request_duration_seconds{method}           histogram, kLatencyBuckets
//   ses_request_bytes_total{method,direction}      counter, direction in|out
//   ses_inflight_requests                          gauge
//   ses_batch_items_total{method,result}           counter, result ok|error
//   ses_keyring_requests_total{keyring,method}     counter
//   ses_data_key_cache_{hits,misses,evictions}_total  callback counters
//   ses_provider_calls_total{provider,op,outcome}  counter
//   ses_provider_call_duration_seconds{provider,op}  histogram, kLatencyBuckets
//   ses_ready                                      gauge, 1 ready / 0 not
//   ses_build_info{version}                        gauge, always 1
//   process_start_time_seconds                     gauge, Unix time
//
// Per-method children are made once (ForMethod) and kept by the caller, so
// a request costs a few relaxed atomic adds. Label values should come from a
// fixed set (method names, configured keyrings and providers), never from
// raw client input: every distinct value is a series kept forever.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "ses/status.h"
#include "telemetry/metrics.h"

namespace ses::telemetry {

// 50us .. 10s in 1-2.5-5 steps.
inline const std::vector<double> kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};

// What ses_data_key_cache_*_total read (ses::CacheStats has the same fields).
struct CacheCounts {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
};

class SesdMetrics {
 public:
  // The children of one RPC method ("Encrypt", "Decrypt", ...).
  class Method {
   public:
    Method(std::string name, CounterFamily& requests, Histogram& duration, Counter& bytes_in, Counter& bytes_out,
           Counter& batch_ok, Counter& batch_error);

    const std::string& name() const { return name_; }
    // ses_requests_total{method, code}; made on first use per code, then lock-free.
    Counter& Requests(StatusCode code);

    Histogram& duration;  // ses_request_duration_seconds
    Counter& bytes_in;    // ses_request_bytes_total{direction="in"}
    Counter& bytes_out;   // ses_request_bytes_total{direction="out"}
    Counter& batch_ok;    // ses_batch_items_total{result="ok"}
    Counter& batch_error; // ses_batch_items_total{result="error"}

   private:
    static constexpr size_t kCodes = 17;  // google.rpc.Code 0..16
    const std::string name_;
    CounterFamily& requests_;
    std::array<std::atomic<Counter*>, kCodes> by_code_{};
  };

  // Registers every metric above in `registry` (which must outlive this);
  // ses_build_info gets `version`, process_start_time_seconds the time now.
  // Throws std::invalid_argument if the names are already taken there.
  SesdMetrics(MetricRegistry& registry, std::string_view version);
  ~SesdMetrics();
  SesdMetrics(const SesdMetrics&) = delete;
  SesdMetrics& operator=(const SesdMetrics&) = delete;

  // The same object for the same name, valid as long as this.
  Method& ForMethod(std::string_view method);

  Counter& KeyringRequests(std::string_view keyring, std::string_view method);
  // outcome: "ok" or a status name such as "UNAVAILABLE"; keep it a small set.
  Counter& ProviderCalls(std::string_view provider, std::string_view op, std::string_view outcome);
  Histogram& ProviderCallDuration(std::string_view provider, std::string_view op);

  Gauge& inflight() { return inflight_; }
  Gauge& ready() { return ready_; }  // pass &ready() as TelemetryOptions::ready_gauge

  // Where the cache counters come from, e.g. [&engine] { auto s =
  // engine.cache_stats(); return CacheCounts{s.hits, s.misses, s.evictions}; }.
  // Null (the default) reads zeros. Reset it to null before destroying what
  // the function reads; the reset waits for a scrape that is reading it.
  void SetDataKeyCacheSource(std::function<CacheCounts()> source);

 private:
  struct CacheSource {
    std::mutex mu;
    std::function<CacheCounts()> fn;  // guarded by mu
    CacheCounts Read();
  };

  CounterFamily& requests_;
  HistogramFamily& duration_;
  CounterFamily& bytes_;
  Gauge& inflight_;
  CounterFamily& batch_items_;
  CounterFamily& keyring_requests_;
  CounterFamily& provider_calls_;
  HistogramFamily& provider_duration_;
  Gauge& ready_;

  const std::shared_ptr<CacheSource> cache_source_ = std::make_shared<CacheSource>();

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Method>, std::less<>> methods_;  // guarded by mu_
};

// Times one RPC: counts it in flight from construction; Finish records the
// duration, the code and leaves in-flight. Destroyed without Finish, it
// records UNKNOWN (so an exception cannot leak an in-flight request).
class RequestTimer {
 public:
  RequestTimer(SesdMetrics& metrics, SesdMetrics::Method& method);
  ~RequestTimer();
  RequestTimer(const RequestTimer&) = delete;
  RequestTimer& operator=(const RequestTimer&) = delete;

  // Second and later calls do nothing.
  void Finish(StatusCode code);

 private:
  Gauge& inflight_;
  SesdMetrics::Method& method_;
  const std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

}  // namespace ses::telemetry
