// Metrics: counters, gauges and histograms in labelled families, kept by a
// MetricRegistry that renders them in the Prometheus text format 0.0.4.
//
// A family has a fixed set of label names; each tuple of label values has its
// own child. The hot path looks a child up once (WithLabels takes a lock and
// may allocate), keeps the reference, and then updates it with relaxed
// atomics only. Children and families live as long as their registry, so the
// references never dangle while the registry is alive.
//
// Callback metrics read a value owned elsewhere (cache statistics, say) when
// the registry renders. The callback must stay callable for as long as the
// registry may render: stop whatever serves /metrics before destroying what a
// callback reads.
//
// Registration mistakes are programming errors and throw
// std::invalid_argument: a malformed metric or label name, a name already
// taken, a counter not named *_total, bad histogram bounds, or a wrong number
// of label values.
//
// Thread safety: every method of every class here is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ses::telemetry {

// Only ever goes up. Integral increments are one relaxed fetch_add.
class Counter {
 public:
  void Inc(uint64_t n = 1) { count_.fetch_add(n, std::memory_order_relaxed); }
  // A non-integral amount (seconds, say). Negative and NaN amounts are
  // ignored: a counter never goes down.
  void Add(double amount);
  double Value() const;

 private:
  std::atomic<uint64_t> count_{0};
  std::atomic<double> fraction_{0.0};  // sum of Add() amounts
};

// Goes up and down; Set replaces the value.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Dec(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into fixed buckets (upper bounds, inclusive) plus +Inf.
class Histogram {
 public:
  // `bounds` must outlive the histogram (its family owns them).
  explicit Histogram(const std::vector<double>* bounds);

  // NaN observations are dropped: they would poison _sum forever.
  void Observe(double value);
  void ObserveDuration(std::chrono::steady_clock::duration d) {
    Observe(std::chrono::duration<double>(d).count());
  }

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  // Not an atomic cut across buckets while observations race, but each
  // bucket is exact and the buckets stay cumulative.
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1
  std::atomic<double> sum_{0.0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

namespace internal {

// What the registry needs from every family: names and how to render it.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends the sample lines (not HELP/TYPE) to `out`.
  virtual void RenderSamples(std::string& out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

}  // namespace internal

// A family of children of type T (Counter, Gauge or Histogram), one per tuple
// of label values.
template <typename T>
class Family final : public internal::FamilyBase {
 public:
  // The child for these label values, in label-name order; created on first
  // use. Throws std::invalid_argument if the count does not match.
  T& WithLabels(std::initializer_list<std::string_view> values);
  T& WithLabels(const std::vector<std::string>& values);
  // The only child of a family without labels.
  T& Get() { return WithLabels(std::vector<std::string>{}); }

  void RenderSamples(std::string& out) const override;

  // Used by MetricRegistry; not for callers.
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::vector<double> bounds = {});

 private:
  T& Lookup(std::vector<std::string> key);

  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // guarded by mu_
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// One sample of a labelled callback metric.
struct CallbackSample {
  std::vector<std::string> label_values;  // in label-name order
  double value = 0;
};

class MetricRegistry {
 public:
  MetricRegistry();
  ~MetricRegistry();
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  // Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in "_total".
  // Label names match [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__";
  // histograms may not use "le". Bounds are finite and strictly increasing.
  CounterFamily& AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                std::vector<double> bounds);

  // Values read at render time. A callback that throws leaves its metric
  // without samples in that rendering; samples with the wrong number of
  // label values are skipped.
  void AddCallbackCounter(std::string name, std::string help, std::function<double()> read);
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> read);
  void AddCallbackCounter(std::string name, std::string help, std::vector<std::string> label_names,
                          std::function<std::vector<CallbackSample>()> read);
  void AddCallbackGauge(std::string name, std::string help, std::vector<std::string> label_names,
                        std::function<std::vector<CallbackSample>()> read);

  // The text exposition format 0.0.4, families in registration order,
  // children sorted by label values.
  std::string Render() const;

 private:
  template <typename F>
  F& Register(std::unique_ptr<F> family, std::vector<std::string> exposed_names);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<internal::FamilyBase>> families_;  // guarded by mu_
  std::vector<std::string> taken_names_;                         // guarded by mu_
};

// The content type of MetricRegistry::Render output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ses::telemetry
