// Telemetry endpoints over a real loopback socket: /metrics, /healthz and
// /readyz with its cache.
#include <gtest/gtest.h>

#include <atomic>

#include "http_client.h"
#include "telemetry/telemetry.h"

namespace ses::telemetry {
namespace {

using ses::testing::Get;

TelemetryOptions Options(std::chrono::steady_clock::duration cache) {
  TelemetryOptions o;
  o.readiness_cache = cache;
  return o;
}

TEST(TelemetryTest, MetricsServesTheRegistryWithPrometheusContentType) {
  MetricRegistry registry;
  registry.AddCounter("demo_total", "Demo.").Get().Inc(4);
  Telemetry t(registry, Options(std::chrono::seconds(1)));
  ASSERT_TRUE(t.Start().ok());
  auto r = Get(t.port(), "/metrics");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, registry.Render());
  EXPECT_NE(r.body.find("demo_total 4\n"), std::string::npos);
}

TEST(TelemetryTest, HealthzIsOk) {
  MetricRegistry registry;
  Telemetry t(registry, Options(std::chrono::seconds(1)));
  ASSERT_TRUE(t.Start().ok());
  auto r = Get(t.port(), "/healthz");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST(TelemetryTest, ReadyzFollowsTheReadinessFunction) {
  MetricRegistry registry;
  Gauge& ready_gauge = registry.AddGauge("ses_ready", "r").Get();
  TelemetryOptions o = Options(std::chrono::steady_clock::duration::zero());
  o.ready_gauge = &ready_gauge;
  Telemetry t(registry, o);
  std::atomic<bool> hsm_ok{true};
  t.SetReadiness([&] {
    return std::vector<ReadinessCheck>{{"store", true, ""},
                                       {"hsm", hsm_ok.load(), hsm_ok ? "token present" : "token\nremoved"}};
  });
  ASSERT_TRUE(t.Start().ok());

  auto r = Get(t.port(), "/readyz");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\nok store\nok hsm: token present\n");
  EXPECT_EQ(ready_gauge.Value(), 1);

  hsm_ok = false;
  r = Get(t.port(), "/readyz");
  ASSERT_TRUE(r.io_ok) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready\nfail hsm: token removed\n");  // one line per check
  EXPECT_EQ(ready_gauge.Value(), 0);
}

TEST(TelemetryTest, ReadinessIsCachedForTheConfiguredPeriod) {
  MetricRegistry registry;
  Telemetry t(registry, Options(std::chrono::hours(1)));
  std::atomic<int> calls{0};
  std::atomic<bool> ok{true};
  t.SetReadiness([&] {
    ++calls;
    return std::vector<ReadinessCheck>{{"hsm", ok.load(), ""}};
  });
  ASSERT_TRUE(t.Start().ok());
  EXPECT_EQ(Get(t.port(), "/readyz").status, 200);
  ok = false;
  EXPECT_EQ(Get(t.port(), "/readyz").status, 200);  // still the cached answer
  EXPECT_EQ(t.Readiness().ready, true);
  EXPECT_EQ(calls.load(), 1);
  // Replacing the function drops the cache.
  t.SetReadiness([&] { return std::vector<ReadinessCheck>{{"hsm", false, "gone"}}; });
  EXPECT_EQ(Get(t.port(), "/readyz").status, 503);
}

TEST(TelemetryTest, NotReadyUntilAFunctionIsSetOrWhenItThrows) {
  MetricRegistry registry;
  Telemetry t(registry, Options(std::chrono::steady_clock::duration::zero()));
  ASSERT_TRUE(t.Start().ok());
  auto r = Get(t.port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("fail startup"), std::string::npos) << r.body;

  t.SetReadiness([]() -> std::vector<ReadinessCheck> { throw std::runtime_error("store unreachable"); });
  r = Get(t.port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("fail readiness: readiness function failed: store unreachable"), std::string::npos)
      << r.body;

  t.SetReadiness([] { return std::vector<ReadinessCheck>{}; });
  EXPECT_EQ(Get(t.port(), "/readyz").status, 200);
}

TEST(TelemetryTest, OtherPathsAndMethods) {
  MetricRegistry registry;
  Telemetry t(registry, Options(std::chrono::seconds(1)));
  ASSERT_TRUE(t.Start().ok());
  EXPECT_EQ(Get(t.port(), "/").status, 404);
  EXPECT_EQ(ses::testing::SendRaw(t.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status, 405);
}

}  // namespace
}  // namespace ses::telemetry
