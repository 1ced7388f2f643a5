#include "telemetry/telemetry.h"

#include <algorithm>
#include <exception>

namespace ses::telemetry {

namespace {

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

ReadinessReport Evaluate(const ReadinessFunction& fn) {
  ReadinessReport report;
  if (!fn) {
    report.checks.push_back({"startup", false, "no readiness checks registered yet"});
    return report;
  }
  try {
    report.checks = fn();
  } catch (const std::exception& e) {
    report.checks = {{"readiness", false, std::string("readiness function failed: ") + e.what()}};
  } catch (...) {
    report.checks = {{"readiness", false, "readiness function failed"}};
  }
  report.ready = std::all_of(report.checks.begin(), report.checks.end(), [](const auto& c) { return c.ok; });
  for (auto& c : report.checks) {
    c.name = OneLine(std::move(c.name));
    c.message = OneLine(std::move(c.message));
  }
  return report;
}

}  // namespace

Telemetry::Telemetry(const MetricRegistry& registry, TelemetryOptions options)
    : registry_(registry), options_(std::move(options)), server_(options_.http) {
  server_.Handle("/metrics", [this](const HttpRequest&) { return ServeMetrics(); });
  server_.Handle("/healthz", [](const HttpRequest&) { return HttpResponse{200, "text/plain; charset=utf-8", "ok\n"}; });
  server_.Handle("/readyz", [this](const HttpRequest&) { return ServeReadiness(); });
}

Telemetry::~Telemetry() { Stop(); }

void Telemetry::SetReadiness(ReadinessFunction fn) {
  std::lock_guard<std::mutex> lock(mu_);
  readiness_ = std::move(fn);
  cached_.reset();
}

ReadinessReport Telemetry::Readiness() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (!cached_ || now - cached_at_ >= options_.readiness_cache) {
    cached_ = Evaluate(readiness_);
    cached_at_ = now;
    if (options_.ready_gauge != nullptr) options_.ready_gauge->Set(cached_->ready ? 1 : 0);
  }
  return *cached_;
}

Status Telemetry::Start() { return server_.Start(); }

void Telemetry::Stop() { server_.Stop(); }

HttpResponse Telemetry::ServeMetrics() const {
  return HttpResponse{200, std::string(kPrometheusContentType), registry_.Render()};
}

HttpResponse Telemetry::ServeReadiness() {
  ReadinessReport report = Readiness();
  HttpResponse r;
  if (report.ready) {
    r.status = 200;
    r.body = "ready\n";
    for (const auto& c : report.checks) {
      r.body += "ok " + c.name + (c.message.empty() ? "" : ": " + c.message) + "\n";
    }
  } else {
    r.status = 503;
    r.body = "not ready\n";
    for (const auto& c : report.checks) {
      if (!c.ok) r.body += "fail " + c.name + ": " + c.message + "\n";
    }
  }
  return r;
}

}  // namespace ses::telemetry
