// The metrics registry: exposition format details, name checks, and exact
// totals under concurrent updates.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "telemetry/exposition.h"
#include "telemetry/metrics.h"

namespace ses::telemetry {
namespace {

TEST(MetricsTest, CounterRendersHelpTypeAndSortedChildren) {
  MetricRegistry r;
  auto& f = r.AddCounter("app_requests_total", "Requests served.", {"method", "code"});
  f.WithLabels({"Get", "OK"}).Inc(3);
  f.WithLabels({"Encrypt", "OK"}).Inc();
  EXPECT_EQ(r.Render(),
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"Encrypt\",code=\"OK\"} 1\n"
            "app_requests_total{method=\"Get\",code=\"OK\"} 3\n");
}

TEST(MetricsTest, WithLabelsReturnsTheSameChildEveryTime) {
  MetricRegistry r;
  auto& f = r.AddCounter("x_total", "x", {"a"});
  Counter& first = f.WithLabels({"v"});
  f.WithLabels({"w"});  // a second child must not move the first
  EXPECT_EQ(&first, &f.WithLabels(std::vector<std::string>{"v"}));
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  MetricRegistry r;
  r.AddGauge("g", "line one\nback\\slash \"quoted\"", {"v"}).WithLabels({"a\\b\"c\nd"}).Set(2);
  EXPECT_EQ(r.Render(),
            "# HELP g line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\\b\\\"c\\nd\"} 2\n");
}

TEST(MetricsTest, LabelValueThatIsNotUtf8GetsReplacementCharacter) {
  std::string out;
  internal::AppendEscapedLabelValue(out, std::string("ok\xC3\xA9\xFF", 5));
  EXPECT_EQ(out, "ok\xC3\xA9\xEF\xBF\xBD");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricRegistry r;
  auto& h = r.AddHistogram("lat_seconds", "Latency.", {"m"}, {0.125, 0.5, 1}).WithLabels({"Get"});
  h.Observe(0.125);  // inclusive upper bound: lands in le=0.125
  h.Observe(0.25);
  h.Observe(0.25);
  h.Observe(2);      // only +Inf
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{m=\"Get\",le=\"0.125\"} 1\n"
            "lat_seconds_bucket{m=\"Get\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{m=\"Get\",le=\"1\"} 3\n"
            "lat_seconds_bucket{m=\"Get\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{m=\"Get\"} 2.625\n"
            "lat_seconds_count{m=\"Get\"} 4\n");
}

TEST(MetricsTest, HistogramDropsNaN) {
  MetricRegistry r;
  auto& h = r.AddHistogram("h", "h", {}, {1}).Get();
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  h.Observe(0.5);
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative.back(), 1u);
  EXPECT_EQ(s.sum, 0.5);
}

TEST(MetricsTest, SpecialValuesUsePrometheusSpelling) {
  EXPECT_EQ(internal::FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(internal::FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(internal::FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(internal::FormatValue(0.00005), "5e-05");
  EXPECT_EQ(internal::FormatValue(12345), "12345");
}

TEST(MetricsTest, CounterIgnoresNegativeAndNaNAmounts) {
  MetricRegistry r;
  Counter& c = r.AddCounter("c_total", "c").Get();
  c.Add(1.5);
  c.Add(-4);
  c.Add(std::nan(""));
  c.Inc(2);
  EXPECT_EQ(c.Value(), 3.5);
}

TEST(MetricsTest, CallbackMetricsAreReadAtRenderTime) {
  MetricRegistry r;
  double value = 1;
  r.AddCallbackGauge("cb", "cb", [&] { return value; });
  r.AddCallbackCounter("cb_labelled_total", "cbl", {"k"}, [] {
    return std::vector<CallbackSample>{{{"a"}, 5}, {{"too", "many"}, 6}};
  });
  r.AddCallbackGauge("cb_throws", "t", []() -> double { throw std::runtime_error("source gone"); });
  value = 7;
  EXPECT_EQ(r.Render(),
            "# HELP cb cb\n# TYPE cb gauge\ncb 7\n"
            "# HELP cb_labelled_total cbl\n# TYPE cb_labelled_total counter\ncb_labelled_total{k=\"a\"} 5\n"
            "# HELP cb_throws t\n# TYPE cb_throws gauge\n");
}

TEST(MetricsTest, RegistrationRejectsProgrammingErrors) {
  MetricRegistry r;
  r.AddCounter("taken_total", "t");
  r.AddHistogram("lat", "l", {}, {1});
  EXPECT_THROW(r.AddCounter("no_suffix", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddCounter("_total", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("1starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("", "x"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("g", "x", {"bad label"}), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("g", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("g", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "x", {}, {}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "x", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.AddHistogram("h", "x", {}, {1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(r.AddCounter("taken_total", "again"), std::invalid_argument);
  EXPECT_THROW(r.AddGauge("lat_bucket", "clashes with the histogram's series"), std::invalid_argument);
  EXPECT_THROW(r.AddCallbackGauge("cb", "x", std::function<double()>()), std::invalid_argument);
  auto& f = r.AddCounter("two_total", "x", {"a", "b"});
  EXPECT_THROW(f.WithLabels({"only one"}), std::invalid_argument);
  EXPECT_THROW(f.Get(), std::invalid_argument);
  // A rejected registration leaves the name free.
  EXPECT_NO_THROW(r.AddGauge("g", "x"));
}

TEST(MetricsTest, ConcurrentUpdatesFromFourThreadsSumExactly) {
  MetricRegistry r;
  auto& counters = r.AddCounter("ops_total", "ops", {"t"});
  Counter& shared = r.AddCounter("shared_total", "s").Get();
  Gauge& gauge = r.AddGauge("level", "l").Get();
  Histogram& hist = r.AddHistogram("obs", "o", {}, {0.25, 0.75}).Get();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Lookups race with each other too: all threads share child "x".
      Counter& mine = counters.WithLabels({"x"});
      for (int i = 0; i < kPerThread; ++i) {
        mine.Inc();
        shared.Inc(2);
        gauge.Inc(1);
        if (i % 2 == 0) gauge.Dec(1);
        hist.Observe(t % 2 == 0 ? 0.5 : 1.0);  // exact in binary, so the sum is exact
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counters.WithLabels({"x"}).Value(), kThreads * kPerThread);
  EXPECT_EQ(shared.Value(), 2.0 * kThreads * kPerThread);
  EXPECT_EQ(gauge.Value(), kThreads * kPerThread / 2);
  Histogram::Snapshot s = hist.Collect();
  ASSERT_EQ(s.cumulative.size(), 3u);
  EXPECT_EQ(s.cumulative[0], 0u);
  EXPECT_EQ(s.cumulative[1], 2u * kPerThread);
  EXPECT_EQ(s.cumulative[2], 4u * kPerThread);
  EXPECT_EQ(s.sum, 2 * kPerThread * 0.5 + 2 * kPerThread * 1.0);
}

TEST(MetricsTest, RenderRunsWhileOtherThreadsUpdate) {
  MetricRegistry r;
  auto& f = r.AddCounter("busy_total", "b", {"k"});
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) f.WithLabels({std::to_string(i % 50)}).Inc();
    done = true;
  });
  while (!done) {
    std::string text = r.Render();
    ASSERT_TRUE(text.starts_with("# HELP busy_total b\n# TYPE busy_total counter\n"));
  }
  writer.join();
  EXPECT_NE(r.Render().find("busy_total{k=\"49\"} 400\n"), std::string::npos);
}

}  // namespace
}  // namespace ses::telemetry
