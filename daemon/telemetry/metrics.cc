#include "telemetry/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "telemetry/exposition.h"

namespace ses::telemetry {

using internal::AppendSample;
using internal::FormatValue;

// ---- children ---------------------------------------------------------------

void Counter::Add(double amount) {
  if (!(amount > 0)) return;  // also drops NaN
  fraction_.fetch_add(amount, std::memory_order_relaxed);
}

double Counter::Value() const {
  return static_cast<double>(count_.load(std::memory_order_relaxed)) + fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // Bounds are inclusive upper limits: the first bound >= value.
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.cumulative.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- families ---------------------------------------------------------------

template <typename T>
Family<T>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), bounds_(std::move(bounds)) {}

template <typename T>
T& Family<T>::WithLabels(std::initializer_list<std::string_view> values) {
  return Lookup(std::vector<std::string>(values.begin(), values.end()));
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  return Lookup(values);
}

template <typename T>
T& Family<T>::Lookup(std::vector<std::string> key) {
  if (key.size() != label_names().size()) {
    std::string names;
    for (const auto& n : label_names()) names += (names.empty() ? "" : ",") + n;
    throw std::invalid_argument("metric " + name() + " takes " + std::to_string(label_names().size()) +
                                " label values (" + names + "), got " + std::to_string(key.size()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(&bounds_);
    } else {
      child = std::make_unique<T>();
    }
    it = children_.emplace(std::move(key), std::move(child)).first;
  }
  return *it->second;
}

namespace {

void RenderChild(std::string& out, const internal::FamilyBase& f, const std::vector<std::string>& values,
                 const Counter& c) {
  AppendSample(out, f.name(), f.label_names(), values, "", "", c.Value());
}

void RenderChild(std::string& out, const internal::FamilyBase& f, const std::vector<std::string>& values,
                 const Gauge& g) {
  AppendSample(out, f.name(), f.label_names(), values, "", "", g.Value());
}

void RenderChild(std::string& out, const internal::FamilyBase& f, const std::vector<std::string>& values,
                 const Histogram& h) {
  Histogram::Snapshot s = h.Collect();
  const std::string bucket = f.name() + "_bucket";
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    AppendSample(out, bucket, f.label_names(), values, "le", FormatValue(h.bounds()[i]),
                 static_cast<double>(s.cumulative[i]));
  }
  const uint64_t count = s.cumulative.back();
  AppendSample(out, bucket, f.label_names(), values, "le", "+Inf", static_cast<double>(count));
  AppendSample(out, f.name() + "_sum", f.label_names(), values, "", "", s.sum);
  AppendSample(out, f.name() + "_count", f.label_names(), values, "", "", static_cast<double>(count));
}

}  // namespace

template <typename T>
void Family<T>::RenderSamples(std::string& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, child] : children_) RenderChild(out, *this, values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- callback families ------------------------------------------------------

namespace {

class CallbackFamily final : public internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 std::function<std::vector<CallbackSample>()> read)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), read_(std::move(read)) {}

  void RenderSamples(std::string& out) const override {
    std::vector<CallbackSample> samples;
    try {
      samples = read_();
    } catch (const std::exception&) {
      return;  // no samples this time; the next scrape tries again
    }
    for (const auto& s : samples) {
      if (s.label_values.size() != label_names().size()) continue;
      AppendSample(out, name(), label_names(), s.label_values, "", "", s.value);
    }
  }

 private:
  const std::function<std::vector<CallbackSample>()> read_;
};

std::function<std::vector<CallbackSample>()> Scalar(const std::string& name, std::function<double()> read) {
  if (!read) throw std::invalid_argument("callback metric " + name + " needs a function");
  return [read = std::move(read)] { return std::vector<CallbackSample>{{{}, read()}}; };
}

void CheckNames(const std::string& name, MetricType type, const std::vector<std::string>& label_names) {
  if (!internal::IsValidMetricName(name)) {
    throw std::invalid_argument("metric name '" + name + "' is not [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  if (type == MetricType::kCounter && (name.size() <= 6 || !name.ends_with("_total"))) {
    throw std::invalid_argument("counter " + name + " must be named *_total");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    if (!internal::IsValidLabelName(l)) {
      throw std::invalid_argument("metric " + name + ": label name '" + l +
                                  "' is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    }
    if (type == MetricType::kHistogram && l == "le") {
      throw std::invalid_argument("histogram " + name + " may not use the label name le");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, l) != label_names.begin() + i) {
      throw std::invalid_argument("metric " + name + ": label name " + l + " appears twice");
    }
  }
}

}  // namespace

// ---- registry ---------------------------------------------------------------

MetricRegistry::MetricRegistry() = default;
MetricRegistry::~MetricRegistry() = default;

template <typename F>
F& MetricRegistry::Register(std::unique_ptr<F> family, std::vector<std::string> exposed_names) {
  CheckNames(family->name(), family->type(), family->label_names());
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& n : exposed_names) {
    if (std::find(taken_names_.begin(), taken_names_.end(), n) != taken_names_.end()) {
      throw std::invalid_argument("metric name " + n + " is already registered");
    }
  }
  taken_names_.insert(taken_names_.end(), exposed_names.begin(), exposed_names.end());
  F& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& MetricRegistry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  std::vector<std::string> exposed{name};
  return Register(std::make_unique<CounterFamily>(std::move(name), std::move(help), MetricType::kCounter,
                                                  std::move(label_names)),
                  std::move(exposed));
}

GaugeFamily& MetricRegistry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  std::vector<std::string> exposed{name};
  return Register(
      std::make_unique<GaugeFamily>(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names)),
      std::move(exposed));
}

HistogramFamily& MetricRegistry::AddHistogram(std::string name, std::string help,
                                              std::vector<std::string> label_names, std::vector<double> bounds) {
  if (bounds.empty()) throw std::invalid_argument("histogram " + name + " needs at least one bucket bound");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      throw std::invalid_argument("histogram " + name + ": bucket bounds must be finite and strictly increasing");
    }
  }
  std::vector<std::string> exposed{name, name + "_bucket", name + "_sum", name + "_count"};
  return Register(std::make_unique<HistogramFamily>(std::move(name), std::move(help), MetricType::kHistogram,
                                                    std::move(label_names), std::move(bounds)),
                  std::move(exposed));
}

void MetricRegistry::AddCallbackCounter(std::string name, std::string help, std::function<double()> read) {
  auto samples = Scalar(name, std::move(read));
  AddCallbackCounter(std::move(name), std::move(help), {}, std::move(samples));
}

void MetricRegistry::AddCallbackGauge(std::string name, std::string help, std::function<double()> read) {
  auto samples = Scalar(name, std::move(read));
  AddCallbackGauge(std::move(name), std::move(help), {}, std::move(samples));
}

void MetricRegistry::AddCallbackCounter(std::string name, std::string help, std::vector<std::string> label_names,
                                        std::function<std::vector<CallbackSample>()> read) {
  if (!read) throw std::invalid_argument("callback metric " + name + " needs a function");
  std::vector<std::string> exposed{name};
  Register(std::make_unique<CallbackFamily>(std::move(name), std::move(help), MetricType::kCounter,
                                            std::move(label_names), std::move(read)),
           std::move(exposed));
}

void MetricRegistry::AddCallbackGauge(std::string name, std::string help, std::vector<std::string> label_names,
                                      std::function<std::vector<CallbackSample>()> read) {
  if (!read) throw std::invalid_argument("callback metric " + name + " needs a function");
  std::vector<std::string> exposed{name};
  Register(std::make_unique<CallbackFamily>(std::move(name), std::move(help), MetricType::kGauge,
                                            std::move(label_names), std::move(read)),
           std::move(exposed));
}

std::string MetricRegistry::Render() const {
  // Families are never removed, so the pointers outlive the lock; callbacks
  // then run without it (they may take locks of their own).
  std::vector<const internal::FamilyBase*> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    families.reserve(families_.size());
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const auto* f : families) {
    out += "# HELP ";
    out += f->name();
    out += ' ';
    internal::AppendEscapedHelp(out, f->help());
    out += "\n# TYPE ";
    out += f->name();
    switch (f->type()) {
      case MetricType::kCounter: out += " counter\n"; break;
      case MetricType::kGauge: out += " gauge\n"; break;
      case MetricType::kHistogram: out += " histogram\n"; break;
    }
    f->RenderSamples(out);
  }
  return out;
}

}  // namespace ses::telemetry
