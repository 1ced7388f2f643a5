// SesdMetrics: the daemon's metric set records what it should, and its
// rendering passes `promtool check metrics`.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "telemetry/sesd_metrics.h"

namespace ses::telemetry {
namespace {

bool Contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// promtool from PATH or /usr/bin, or "".
std::string FindPromtool() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/bin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/promtool";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `text` on stdin (from a temp file, so
// there is no pipe to deadlock on), capturing stdout and stderr.
PromtoolResult CheckMetrics(const std::string& promtool, const std::string& text) {
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::string file = (dir / "ses_telemetry_metrics_XXXXXX").string();
  int fd = ::mkstemp(file.data());
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  std::string cmd = "'" + promtool + "' check metrics < '" + file + "' 2>&1";
  PromtoolResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  if (p != nullptr) {
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
    int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(file);
  return r;
}

TEST(SesdMetricsTest, RenderedMetricSetPassesPromtool) {
  std::string promtool = FindPromtool();
  ASSERT_FALSE(promtool.empty()) << "promtool not found (Debian package prometheus): run scripts/install-deps.sh";

  MetricRegistry registry;
  SesdMetrics m(registry, "0.1.0");
  auto& encrypt = m.ForMethod("Encrypt");
  {
    RequestTimer timer(m, encrypt);
    encrypt.bytes_in.Inc(1000);
    encrypt.bytes_out.Inc(1100);
    timer.Finish(StatusCode::kOk);
  }
  m.ForMethod("Decrypt").Requests(StatusCode::kInvalidArgument).Inc();
  m.ForMethod("BatchEncrypt").batch_ok.Inc(9);
  m.ForMethod("BatchEncrypt").batch_error.Inc();
  m.KeyringRequests("payments", "Encrypt").Inc();
  m.ProviderCalls("pkcs11", "wrap", "ok").Inc();
  m.ProviderCallDuration("pkcs11", "wrap").Observe(0.003);
  m.SetDataKeyCacheSource([] { return CacheCounts{10, 2, 1}; });
  m.ready().Set(1);

  std::string text = registry.Render();
  PromtoolResult r = CheckMetrics(promtool, text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- input ---\n" << text;
  EXPECT_EQ(r.output, "") << "promtool lint findings";

  EXPECT_TRUE(Contains(text, "ses_requests_total{method=\"Encrypt\",code=\"OK\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "ses_requests_total{method=\"Decrypt\",code=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_TRUE(Contains(text, "ses_request_bytes_total{method=\"Encrypt\",direction=\"in\"} 1000\n"));
  EXPECT_TRUE(Contains(text, "ses_request_bytes_total{method=\"Encrypt\",direction=\"out\"} 1100\n"));
  EXPECT_TRUE(Contains(text, "ses_request_duration_seconds_count{method=\"Encrypt\"} 1\n"));
  EXPECT_TRUE(Contains(text, "ses_request_duration_seconds_bucket{method=\"Encrypt\",le=\"5e-05\"}"));
  EXPECT_TRUE(Contains(text, "ses_request_duration_seconds_bucket{method=\"Encrypt\",le=\"10\"}"));
  EXPECT_TRUE(Contains(text, "ses_batch_items_total{method=\"BatchEncrypt\",result=\"ok\"} 9\n"));
  EXPECT_TRUE(Contains(text, "ses_keyring_requests_total{keyring=\"payments\",method=\"Encrypt\"} 1\n"));
  EXPECT_TRUE(Contains(text, "ses_provider_calls_total{provider=\"pkcs11\",op=\"wrap\",outcome=\"ok\"} 1\n"));
  EXPECT_TRUE(Contains(text, "ses_provider_call_duration_seconds_bucket{provider=\"pkcs11\",op=\"wrap\",le=\"0.005\"} 1\n"));
  EXPECT_TRUE(Contains(text, "ses_data_key_cache_hits_total 10\n"));
  EXPECT_TRUE(Contains(text, "ses_data_key_cache_misses_total 2\n"));
  EXPECT_TRUE(Contains(text, "ses_data_key_cache_evictions_total 1\n"));
  EXPECT_TRUE(Contains(text, "ses_inflight_requests 0\n"));
  EXPECT_TRUE(Contains(text, "ses_ready 1\n"));
  EXPECT_TRUE(Contains(text, "ses_build_info{version=\"0.1.0\"} 1\n"));
  EXPECT_TRUE(Contains(text, "process_start_time_seconds "));
}

TEST(SesdMetricsTest, RequestTimerCountsInflightAndRecordsUnknownWhenNotFinished) {
  MetricRegistry registry;
  SesdMetrics m(registry, "test");
  auto& method = m.ForMethod("Decrypt");
  EXPECT_EQ(&method, &m.ForMethod("Decrypt"));
  {
    RequestTimer a(m, method);
    RequestTimer b(m, method);
    EXPECT_EQ(m.inflight().Value(), 2);
    a.Finish(StatusCode::kUnavailable);
    a.Finish(StatusCode::kOk);  // ignored
    EXPECT_EQ(m.inflight().Value(), 1);
  }  // b leaves without Finish
  EXPECT_EQ(m.inflight().Value(), 0);
  EXPECT_EQ(method.Requests(StatusCode::kUnavailable).Value(), 1);
  EXPECT_EQ(method.Requests(StatusCode::kOk).Value(), 0);
  EXPECT_EQ(method.Requests(StatusCode::kUnknown).Value(), 1);
  EXPECT_EQ(method.Requests(static_cast<StatusCode>(99)).Value(), 1);  // out of range reads as UNKNOWN
  EXPECT_EQ(method.duration.Collect().cumulative.back(), 2u);
}

TEST(SesdMetricsTest, CacheCountersOutliveTheMetricsObject) {
  MetricRegistry registry;
  {
    SesdMetrics m(registry, "test");
    m.SetDataKeyCacheSource([] { return CacheCounts{3, 4, 5}; });
    EXPECT_TRUE(Contains(registry.Render(), "ses_data_key_cache_hits_total 3\n"));
  }
  // The registry still renders the callbacks after SesdMetrics is gone.
  EXPECT_TRUE(Contains(registry.Render(), "ses_data_key_cache_misses_total 4\n"));
}

TEST(SesdMetricsTest, SecondSetInOneRegistryIsRefused) {
  MetricRegistry registry;
  SesdMetrics m(registry, "test");
  EXPECT_THROW(SesdMetrics(registry, "again"), std::invalid_argument);
}

}  // namespace
}  // namespace ses::telemetry
