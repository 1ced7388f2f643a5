#include "latency_histogram.h"

#include <bit>
#include <cmath>

namespace ses::cli {

// Values below 2^kSubBits index their own bucket. Above, a value whose top
// bit is bit `msb` falls in group g = msb - kSubBits + 1 >= 1, and its top
// kSubBits bits m = v >> g (in [2^(kSubBits-1), 2^kSubBits)) pick the bucket
// g * 2^(kSubBits-1) + m: consecutive groups tile the index range exactly.
size_t LatencyHistogram::BucketOf(uint64_t v) {
  if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
  int msb = 63 - std::countl_zero(v);
  int g = msb - kSubBits + 1;
  uint64_t m = v >> g;
  return (static_cast<size_t>(g) << (kSubBits - 1)) + static_cast<size_t>(m);
}

uint64_t LatencyHistogram::HighestIn(size_t bucket) {
  if (bucket < (size_t{1} << kSubBits)) return bucket;
  int g = static_cast<int>(bucket >> (kSubBits - 1)) - 1;
  uint64_t m = bucket - (static_cast<uint64_t>(g) << (kSubBits - 1));
  return ((m + 1) << g) - 1;
}

LatencyHistogram::LatencyHistogram() : buckets_(new std::atomic<uint64_t>[kBuckets]) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void LatencyHistogram::Record(uint64_t nanos) {
  buckets_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(nanos, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (nanos > seen && !max_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_release);
}

double LatencyHistogram::mean() const {
  uint64_t n = count();
  return n == 0 ? 0.0 : static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n);
}

uint64_t LatencyHistogram::Percentile(double percent) const {
  uint64_t n = count_.load(std::memory_order_acquire);
  if (n == 0) return 0;
  if (percent <= 0) percent = 0;
  if (percent > 100) percent = 100;
  auto rank = static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(n)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      uint64_t high = HighestIn(i);
      return high < max() ? high : max();
    }
  }
  return max();
}

}  // namespace ses::cli
