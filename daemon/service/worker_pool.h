// WorkerPool: the threads that run the heavier calls (batches and stream
// chunks) so that gRPC's own threads, which poll every connection, are
// never held for long by one client. `[server] workers` sizes it.
//
// Unary calls do not come here: a 1 KiB Encrypt is a few microseconds of
// CPU, less than the hand-off between threads would cost.
//
// The queue is bounded: when `max_queued` tasks wait, Post refuses and the
// caller answers RESOURCE_EXHAUSTED, so overload sheds load at once instead
// of growing memory and latency without bound.
//
// Thread safety: Post from any thread. The destructor runs every queued
// task, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ses::daemon {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False (and `task` not run) when the queue is full.
  [[nodiscard]] bool Post(std::function<void()> task);
  size_t threads() const { return threads_.size(); }

 private:
  void Run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace ses::daemon
