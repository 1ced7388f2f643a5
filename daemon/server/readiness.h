// ReadinessProbe: whether this node can serve. Checks that the store answers
// and that every key provider answers its health probe. Probes run on the
// probe's own thread once per interval, so /readyz and gRPC health never
// wait on an HSM or KMS, and a hung probe never blocks signal handling.
//
// Thread safety: Last() from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ses/engine.h"
#include "ses/store.h"
#include "telemetry/telemetry.h"

namespace ses::daemon {

class ReadinessProbe {
 public:
  // Called after each evaluation with the overall result.
  using Listener = std::function<void(bool ready)>;

  ReadinessProbe(std::vector<NamedKeyProvider> providers, std::shared_ptr<Store> store,
                 std::chrono::milliseconds interval, Listener listener);
  ~ReadinessProbe();

  // Evaluates once synchronously, then keeps evaluating on a thread.
  void Start();
  void Stop();
  std::vector<telemetry::ReadinessCheck> Last() const;

 private:
  std::vector<telemetry::ReadinessCheck> Evaluate();
  void Loop();

  const std::vector<NamedKeyProvider> providers_;
  const std::shared_ptr<Store> store_;
  const std::chrono::milliseconds interval_;
  const Listener listener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                              // guarded by mu_
  std::vector<telemetry::ReadinessCheck> last_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace ses::daemon
