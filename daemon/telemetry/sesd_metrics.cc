#include "telemetry/sesd_metrics.h"

namespace ses::telemetry {

SesdMetrics::Method::Method(std::string name, CounterFamily& requests, Histogram& duration_in, Counter& bytes_in_in,
                            Counter& bytes_out_in, Counter& batch_ok_in, Counter& batch_error_in)
    : duration(duration_in),
      bytes_in(bytes_in_in),
      bytes_out(bytes_out_in),
      batch_ok(batch_ok_in),
      batch_error(batch_error_in),
      name_(std::move(name)),
      requests_(requests) {}

Counter& SesdMetrics::Method::Requests(StatusCode code) {
  size_t i = static_cast<size_t>(code);
  if (i >= kCodes) {
    code = StatusCode::kUnknown;
    i = static_cast<size_t>(code);
  }
  Counter* c = by_code_[i].load(std::memory_order_acquire);
  if (c == nullptr) {
    // Racing threads get the same child from the family; either store wins.
    c = &requests_.WithLabels({name_, StatusCodeName(code)});
    by_code_[i].store(c, std::memory_order_release);
  }
  return *c;
}

SesdMetrics::SesdMetrics(MetricRegistry& registry, std::string_view version)
    : requests_(registry.AddCounter("ses_requests_total", "RPCs completed, by method and gRPC status code.",
                                    {"method", "code"})),
      duration_(registry.AddHistogram("ses_request_duration_seconds", "RPC latency in seconds, by method.",
                                      {"method"}, kLatencyBuckets)),
      bytes_(registry.AddCounter("ses_request_bytes_total",
                                 "Payload bytes received (in) and sent (out), by method.",
                                 {"method", "direction"})),
      inflight_(registry.AddGauge("ses_inflight_requests", "RPCs being served now.").Get()),
      batch_items_(registry.AddCounter("ses_batch_items_total", "Items of batch RPCs, by method and result.",
                                       {"method", "result"})),
      keyring_requests_(registry.AddCounter("ses_keyring_requests_total", "RPCs by keyring and method.",
                                            {"keyring", "method"})),
      provider_calls_(registry.AddCounter("ses_provider_calls_total",
                                          "Key provider (KMS/HSM) calls, by provider, operation and outcome.",
                                          {"provider", "op", "outcome"})),
      provider_duration_(registry.AddHistogram("ses_provider_call_duration_seconds",
                                               "Key provider call latency in seconds, by provider and operation.",
                                               {"provider", "op"}, kLatencyBuckets)),
      ready_(registry.AddGauge("ses_ready", "1 when /readyz reports ready, else 0.").Get()) {
  // The callbacks share the source, not `this`: the registry may render
  // after this object is gone.
  auto source = cache_source_;
  registry.AddCallbackCounter("ses_data_key_cache_hits_total", "Data keys served from the cache.",
                              [source] { return static_cast<double>(source->Read().hits); });
  registry.AddCallbackCounter("ses_data_key_cache_misses_total", "Data key cache lookups that found nothing usable.",
                              [source] { return static_cast<double>(source->Read().misses); });
  registry.AddCallbackCounter("ses_data_key_cache_evictions_total",
                              "Data keys retired from the cache (limits reached, LRU, rotation).",
                              [source] { return static_cast<double>(source->Read().evictions); });
  registry.AddGauge("ses_build_info", "Always 1; the version label names the sesd build.", {"version"})
      .WithLabels({version})
      .Set(1);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  registry.AddGauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.")
      .Get()
      .Set(now);
}

SesdMetrics::~SesdMetrics() = default;

SesdMetrics::Method& SesdMetrics::ForMethod(std::string_view method) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = methods_.find(method);
  if (it != methods_.end()) return *it->second;
  auto m = std::make_unique<Method>(std::string(method), requests_, duration_.WithLabels({method}),
                                    bytes_.WithLabels({method, "in"}), bytes_.WithLabels({method, "out"}),
                                    batch_items_.WithLabels({method, "ok"}), batch_items_.WithLabels({method, "error"}));
  Method& ref = *m;
  methods_.emplace(std::string(method), std::move(m));
  return ref;
}

Counter& SesdMetrics::KeyringRequests(std::string_view keyring, std::string_view method) {
  return keyring_requests_.WithLabels({keyring, method});
}

Counter& SesdMetrics::ProviderCalls(std::string_view provider, std::string_view op, std::string_view outcome) {
  return provider_calls_.WithLabels({provider, op, outcome});
}

Histogram& SesdMetrics::ProviderCallDuration(std::string_view provider, std::string_view op) {
  return provider_duration_.WithLabels({provider, op});
}

void SesdMetrics::SetDataKeyCacheSource(std::function<CacheCounts()> source) {
  std::lock_guard<std::mutex> lock(cache_source_->mu);
  cache_source_->fn = std::move(source);
}

CacheCounts SesdMetrics::CacheSource::Read() {
  // Held while the source runs, so resetting it waits for a running scrape.
  std::lock_guard<std::mutex> lock(mu);
  return fn ? fn() : CacheCounts{};
}

RequestTimer::RequestTimer(SesdMetrics& metrics, SesdMetrics::Method& method)
    : inflight_(metrics.inflight()), method_(method), start_(std::chrono::steady_clock::now()) {
  inflight_.Inc();
}

RequestTimer::~RequestTimer() { Finish(StatusCode::kUnknown); }

void RequestTimer::Finish(StatusCode code) {
  if (finished_) return;
  finished_ = true;
  method_.duration.ObserveDuration(std::chrono::steady_clock::now() - start_);
  method_.Requests(code).Inc();
  inflight_.Dec();
}

}  // namespace ses::telemetry
