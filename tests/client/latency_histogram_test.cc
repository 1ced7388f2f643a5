// The bench's latency histogram: bucket arithmetic and percentiles within
// the promised 0.1%.
#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace ses::cli {
namespace {

TEST(LatencyHistogramTest, BucketsTileTheRangeAndHoldTheirValues) {
  size_t previous = 0;
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{2047}, uint64_t{2048}, uint64_t{2049}, uint64_t{4095},
                     uint64_t{4096}, uint64_t{123456789}, uint64_t{1} << 40, ~uint64_t{0}}) {
    size_t b = LatencyHistogram::BucketOf(v);
    EXPECT_GE(b, previous) << v;
    previous = b;
    EXPECT_GE(LatencyHistogram::HighestIn(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::HighestIn(b - 1), v) << v;
    }
  }
  // Exact below 2048 ns.
  for (uint64_t v = 0; v < 2048; ++v) EXPECT_EQ(LatencyHistogram::HighestIn(LatencyHistogram::BucketOf(v)), v);
  // Consecutive values map to the same or the next bucket.
  for (uint64_t v = 2000; v < 100000; ++v) {
    size_t d = LatencyHistogram::BucketOf(v + 1) - LatencyHistogram::BucketOf(v);
    ASSERT_LE(d, 1u) << v;
  }
}

TEST(LatencyHistogramTest, PercentilesAreWithinATenthOfAPercent) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 1000000; ++v) h.Record(v * 10);  // 10 ns .. 10 ms
  EXPECT_EQ(h.count(), 1000000u);
  EXPECT_EQ(h.max(), 10000000u);
  for (double p : {50.0, 95.0, 99.0, 99.9}) {
    double want = p / 100 * 1e7;
    double got = static_cast<double>(h.Percentile(p));
    EXPECT_NEAR(got, want, want * 0.001) << p;
  }
  EXPECT_EQ(h.Percentile(100), h.max());
  EXPECT_NEAR(h.mean(), 5000005.0, 1);
}

TEST(LatencyHistogramTest, EmptyReportsZeroAndConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(99), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 50000; ++i) h.Record(static_cast<uint64_t>(1000 + t));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 200000u);
  EXPECT_EQ(h.max(), 1003u);
  EXPECT_EQ(h.Percentile(50), 1001u);
}

}  // namespace
}  // namespace ses::cli
