// Telemetry: the daemon's HTTP listener for operators and orchestrators.
//
//   GET /metrics  200, the registry in the Prometheus text format 0.0.4
//   GET /healthz  200 "ok": the process is alive and serving this thread
//   GET /readyz   200 "ready" plus one "ok NAME[: message]" line per check,
//                 or 503 "not ready" plus one "fail NAME: message" line per
//                 failing check
//
// Readiness comes from a function the daemon registers; it may call into
// HSMs and KMSs, so its result is cached (one second by default) and the
// function runs at most once per cache period however often /readyz is
// polled. Until a function is registered the daemon is not ready.
//
// Thread safety: SetReadiness and Readiness from any thread; Start and Stop
// from one thread. The registry and the ready gauge must outlive Stop().
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ses/status.h"
#include "telemetry/http_server.h"
#include "telemetry/metrics.h"

namespace ses::telemetry {

struct ReadinessCheck {
  std::string name;     // "store", "keyring/payments"
  bool ok = false;
  std::string message;  // why not, or detail; no secrets. Newlines become spaces.
};

using ReadinessFunction = std::function<std::vector<ReadinessCheck>()>;

struct ReadinessReport {
  bool ready = false;  // every check ok (true for an empty list)
  std::vector<ReadinessCheck> checks;
};

struct TelemetryOptions {
  HttpServerOptions http;  // address, port, limits
  // How long one readiness evaluation is reused. Zero: every call runs it.
  std::chrono::steady_clock::duration readiness_cache = std::chrono::seconds(1);
  // If set, follows each readiness evaluation: 1 ready, 0 not (ses_ready).
  Gauge* ready_gauge = nullptr;
};

class Telemetry {
 public:
  Telemetry(const MetricRegistry& registry, TelemetryOptions options);
  ~Telemetry();  // Stop()
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  // Replaces the readiness function (null: not ready) and drops the cached
  // result. The function must stay callable until Stop() or replacement; if
  // it throws, readiness reports a failing check named "readiness".
  void SetReadiness(ReadinessFunction fn);

  // The cached report, evaluating the function if the cache has expired.
  ReadinessReport Readiness();

  // See HttpServer::Start / Stop / port.
  Status Start();
  void Stop();
  uint16_t port() const { return server_.port(); }

 private:
  HttpResponse ServeMetrics() const;
  HttpResponse ServeReadiness();

  const MetricRegistry& registry_;
  const TelemetryOptions options_;
  HttpServer server_;

  std::mutex mu_;  // held while the readiness function runs, so it runs once per period
  ReadinessFunction readiness_;                                   // guarded by mu_
  std::optional<ReadinessReport> cached_;                         // guarded by mu_
  std::chrono::steady_clock::time_point cached_at_;               // guarded by mu_
};

}  // namespace ses::telemetry
