#include "server/call_reporter.h"

#include <chrono>

#include "server/log.h"

namespace ses::daemon {
namespace {

constexpr const char* kMethods[] = {"Encrypt",      "Decrypt",       "ReEncrypt",     "GenerateDataKey",
                                    "DecryptDataKey", "BatchEncrypt", "BatchDecrypt",  "EncryptStream",
                                    "DecryptStream", "Echo"};
// Calls that name a keyring.
constexpr const char* kKeyringMethods[] = {"Encrypt", "ReEncrypt", "GenerateDataKey", "BatchEncrypt",
                                           "EncryptStream"};

LogLevel LevelFor(StatusCode code) {
  switch (code) {
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnavailable:
      return LogLevel::kWarn;
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
    case StatusCode::kDataLoss:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

}  // namespace

CallReporter::CallReporter(telemetry::SesdMetrics& metrics, const std::vector<std::string>& keyrings)
    : metrics_(metrics) {
  for (const char* method : kMethods) methods_.emplace(method, &metrics_.ForMethod(method));
  for (const auto& keyring : keyrings) {
    auto& by_method = keyrings_[keyring];
    for (const char* method : kKeyringMethods) by_method.emplace(method, &metrics_.KeyringRequests(keyring, method));
  }
}

void CallReporter::OnCallStarted() { metrics_.inflight().Inc(); }

void CallReporter::OnCall(const CallRecord& record) {
  metrics_.inflight().Dec();
  const StatusCode code = record.status ? record.status->code() : StatusCode::kUnknown;
  if (auto it = methods_.find(record.method); it != methods_.end()) {
    auto& method = *it->second;
    method.Requests(code).Inc();
    method.duration.ObserveDuration(record.duration);
    if (record.bytes_in) method.bytes_in.Inc(record.bytes_in);
    if (record.bytes_out) method.bytes_out.Inc(record.bytes_out);
    if (record.items_ok) method.batch_ok.Inc(record.items_ok);
    if (record.items_failed) method.batch_error.Inc(record.items_failed);
  }
  if (!record.keyring.empty()) {
    if (auto ring = keyrings_.find(record.keyring); ring != keyrings_.end()) {
      if (auto counter = ring->second.find(record.method); counter != ring->second.end()) counter->second->Inc();
    }
  }
  if (code == StatusCode::kOk) return;
  // Server faults always log; the budget only stops floods of client errors.
  if (LevelFor(code) != LogLevel::kError && !AdmitLogLine()) return;
  Log(LevelFor(code), "call failed",
      {{"method", record.method},
       {"keyring", record.keyring},
       {"peer", record.peer},
       {"code", StatusCodeName(code)},
       {"error", record.status ? std::string_view(record.status->message()) : std::string_view()}});
}

bool CallReporter::AdmitLogLine() {
  using namespace std::chrono;
  const int64_t now = duration_cast<seconds>(steady_clock::now().time_since_epoch()).count();
  int64_t second = log_second_.load(std::memory_order_relaxed);
  if (second != now && log_second_.compare_exchange_strong(second, now)) {
    log_lines_.store(0);
    if (const int dropped = suppressed_.exchange(0); dropped > 0) {
      const std::string n = std::to_string(dropped);
      Log(LogLevel::kWarn, "failure lines suppressed",
          {{"count", n}, {"limit_per_second", std::to_string(kMaxFailureLinesPerSecond)}});
    }
  }
  if (log_lines_.fetch_add(1, std::memory_order_relaxed) < kMaxFailureLinesPerSecond) return true;
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace ses::daemon
