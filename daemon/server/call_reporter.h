// CallReporter: the CallObserver sesd runs with. Counts every call in the
// Prometheus metrics and logs each failure as one line naming the method,
// keyring, client peer and status.
//
// Failure lines of client errors and overload are rate-limited
// (kMaxFailureLinesPerSecond, then one line saying how many were
// suppressed), so a flood of bad requests cannot flood the log; server
// faults are always logged. Overload and outages (RESOURCE_EXHAUSTED, UNAVAILABLE) log at
// warn, server faults at error, a client's own mistakes at info.
//
// Metric labels come from fixed sets: methods known at construction and the
// configured keyrings, so a request cannot create new series.
//
// Thread safety: OnCall may run concurrently; the lookups are immutable
// after construction.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/call_observer.h"
#include "telemetry/sesd_metrics.h"

namespace ses::daemon {

inline constexpr int kMaxFailureLinesPerSecond = 50;

class CallReporter final : public CallObserver {
 public:
  CallReporter(telemetry::SesdMetrics& metrics, const std::vector<std::string>& keyrings);

  void OnCallStarted() override;
  void OnCall(const CallRecord& record) override;

 private:
  bool AdmitLogLine();

  telemetry::SesdMetrics& metrics_;
  std::map<std::string, telemetry::SesdMetrics::Method*, std::less<>> methods_;
  // keyring -> method -> counter
  std::map<std::string, std::map<std::string, telemetry::Counter*, std::less<>>, std::less<>> keyrings_;
  std::atomic<int64_t> log_second_{0};
  std::atomic<int> log_lines_{0};
  std::atomic<int> suppressed_{0};
};

}  // namespace ses::daemon
