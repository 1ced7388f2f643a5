#include "server/readiness.h"

namespace ses::daemon {

ReadinessProbe::ReadinessProbe(std::vector<NamedKeyProvider> providers, std::shared_ptr<Store> store,
                               std::chrono::milliseconds interval, Listener listener)
    : providers_(std::move(providers)), store_(std::move(store)), listener_(std::move(listener)),
      periodic_(interval, [this] { Refresh(); }) {}

void ReadinessProbe::Start() {
  Refresh();
  periodic_.Start();
}

void ReadinessProbe::Refresh() {
  std::vector<telemetry::ReadinessCheck> checks;
  if (store_) {
    Status s = store_->Health();
    checks.push_back({"store", s.ok(), s.ok() ? "" : s.ToString()});
  }
  for (const auto& [name, provider] : providers_) {
    Status s = provider->Health();
    checks.push_back({"provider/" + name, s.ok(), s.ok() ? "" : s.ToString()});
  }
  bool ready = true;
  for (const auto& c : checks) ready = ready && c.ok;
  // Under the lock, so a result computed before SetDraining can never be
  // published after it: shutdown has the last word.
  std::lock_guard lock(mu_);
  if (draining_) return;
  last_ = std::move(checks);
  if (listener_) listener_(ready);
}

void ReadinessProbe::SetDraining() {
  std::lock_guard lock(mu_);
  draining_ = true;
  last_.push_back({"draining", false, "shutting down: finishing the calls in flight"});
  if (listener_) listener_(false);
}

std::vector<telemetry::ReadinessCheck> ReadinessProbe::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

}  // namespace ses::daemon
