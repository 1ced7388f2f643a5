#include "server/readiness.h"

namespace ses::daemon {

ReadinessProbe::ReadinessProbe(std::vector<NamedKeyProvider> providers, std::shared_ptr<Store> store,
                               std::chrono::milliseconds interval, Listener listener)
    : providers_(std::move(providers)), store_(std::move(store)), interval_(interval),
      listener_(std::move(listener)) {}

ReadinessProbe::~ReadinessProbe() { Stop(); }

std::vector<telemetry::ReadinessCheck> ReadinessProbe::Evaluate() {
  std::vector<telemetry::ReadinessCheck> checks;
  if (store_) {
    Status s = store_->Health();
    checks.push_back({"store", s.ok(), s.ok() ? "" : s.ToString()});
  }
  for (const auto& [name, provider] : providers_) {
    Status s = provider->Health();
    checks.push_back({"provider/" + name, s.ok(), s.ok() ? "" : s.ToString()});
  }
  return checks;
}

void ReadinessProbe::Start() {
  auto checks = Evaluate();
  bool ready = true;
  for (const auto& c : checks) ready = ready && c.ok;
  {
    std::lock_guard lock(mu_);
    last_ = std::move(checks);
  }
  if (listener_) listener_(ready);
  thread_ = std::thread([this] { Loop(); });
}

void ReadinessProbe::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<telemetry::ReadinessCheck> ReadinessProbe::Last() const {
  std::lock_guard lock(mu_);
  return last_;
}

void ReadinessProbe::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    auto checks = Evaluate();
    bool ready = true;
    for (const auto& c : checks) ready = ready && c.ok;
    if (listener_) listener_(ready);
    lock.lock();
    last_ = std::move(checks);
  }
}

}  // namespace ses::daemon
