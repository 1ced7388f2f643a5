// LatencyHistogram: latencies of a load run in bounded memory, HDR-style.
//
// Values (nanoseconds) are counted in log-linear buckets: exact below
// 2048 ns, and above that 1024 buckets per power of two, so a percentile is
// reported within 0.1% of the true value whatever the run's length (about
// 450 KiB for any number of samples up to 2^63 ns). The maximum is exact.
//
// Thread safety: Record may be called from any number of threads at once;
// the readers are meant for after the run (they see a consistent snapshot
// only when no Record runs concurrently, which progress lines tolerate).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace ses::cli {

class LatencyHistogram {
 public:
  LatencyHistogram();
  void Record(uint64_t nanos);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;
  // The value at or below which `percent` (0-100] of the samples fall: the
  // highest value its bucket holds, capped by the maximum. 0 when empty.
  uint64_t Percentile(double percent) const;

  // Bucket arithmetic, exposed for tests.
  static size_t BucketOf(uint64_t nanos);
  static uint64_t HighestIn(size_t bucket);

 private:
  static constexpr int kSubBits = 11;  // 2^(kSubBits-1) buckets per octave
  static constexpr size_t kBuckets = (64 - kSubBits + 2) << (kSubBits - 1);
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

}  // namespace ses::cli
