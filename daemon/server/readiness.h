// ReadinessProbe: whether this node can serve. Checks that the store answers
// and that every key provider answers its health probe. Probes run on a
// thread of their own once per interval, so /readyz and gRPC health never
// wait on an HSM or KMS, and a hung probe never blocks signal handling.
// Once draining (shutdown), the node reports not ready for good.
//
// Thread safety: Last() and SetDraining() from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/periodic.h"
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

  // Evaluates once synchronously, then keeps evaluating on a thread.
  void Start();
  void Stop() { periodic_.Stop(); }
  void SetDraining();
  std::vector<telemetry::ReadinessCheck> Last() const;

 private:
  void Refresh();

  const std::vector<NamedKeyProvider> providers_;
  const std::shared_ptr<Store> store_;
  const Listener listener_;
  mutable std::mutex mu_;
  std::vector<telemetry::ReadinessCheck> last_;  // guarded by mu_
  bool draining_ = false;                       // guarded by mu_
  Periodic periodic_;
};

}  // namespace ses::daemon
