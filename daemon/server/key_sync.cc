#include "server/key_sync.h"

#include <set>

#include "server/log.h"

namespace ses::daemon {
namespace {

constexpr std::string_view kVersionsNs = "key_versions";
constexpr std::string_view kKeyringsNs = "keyrings";

std::string Identity(const std::string& uri) { return uri.substr(0, uri.find('?')); }

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string Describe(const KeyringConfig& k) {
  std::string out = std::string("mode=") + (k.mode == KeyringMode::kAll ? "all" : "any") +
                    "\nsuite=" + std::string(SuiteName(k.suite_id)) + "\nframe_size=" + std::to_string(k.frame_size) +
                    "\n";
  for (const auto& uri : k.key_uris) out += "key=" + Identity(uri) + "\n";
  return out;
}

}  // namespace

KeySync::KeySync(std::shared_ptr<Store> store, Engine& engine) : store_(std::move(store)), engine_(engine) {}

Status KeySync::Publish() {
  for (const auto& keyring : engine_.keyrings()) {
    const std::string value = Describe(keyring);
    auto existing = store_->Get(kKeyringsNs, keyring.name);
    if (existing.ok() && existing->value == value) continue;
    if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
    if (existing.ok()) {
      Log(LogLevel::kWarn, "keyring definition differs from the store; recording this node's",
          {{"keyring", keyring.name}});
    }
    auto put = store_->Put(kKeyringsNs, keyring.name, value, existing.ok() ? existing->version : 0);
    // Another node writing at the same moment wins; its definition is logged next start.
    if (!put.ok() && put.status().code() != StatusCode::kFailedPrecondition) return put.status();
  }
  auto changed = Poll();
  return changed.status();
}

StatusOr<int> KeySync::Poll() {
  int changed = 0;
  std::set<std::string> done;
  for (const auto& keyring : engine_.keyrings()) {
    for (const auto& uri : keyring.key_uris) {
      const std::string identity = Identity(uri);
      if (!done.insert(identity).second) continue;
      auto moved = SyncKey(identity, uri);
      if (!moved.ok()) return moved.status();
      if (*moved) ++changed;
    }
  }
  if (changed > 0) {
    engine_.ForgetEncryptKeys();
    Log(LogLevel::kInfo, "master key versions changed; new messages use the current versions",
        {{"keys", std::to_string(changed)}});
  }
  return changed;
}

StatusOr<bool> KeySync::SyncKey(const std::string& identity, const std::string& uri) {
  auto versions = engine_.ListVersions(uri);
  if (!versions.ok()) {
    // Providers that cannot list versions (none today) are simply not shared.
    if (versions.status().code() == StatusCode::kUnimplemented) return false;
    return versions.status();
  }
  const std::string listed = Join(*versions);
  auto record = store_->Get(kVersionsNs, identity);
  if (!record.ok() && record.status().code() != StatusCode::kNotFound) return record.status();
  uint64_t version = record.ok() ? record->version : 0;
  // The provider knows versions the store does not: record them.
  if (!record.ok() || (record->value != listed && listed.size() > record->value.size())) {
    auto put = store_->Put(kVersionsNs, identity, listed, version);
    if (put.ok()) {
      version = *put;
    } else if (put.status().code() == StatusCode::kFailedPrecondition) {
      auto again = store_->Get(kVersionsNs, identity);  // another node recorded first
      if (!again.ok()) return again.status();
      version = again->version;
    } else {
      return put.status();
    }
  }
  auto [it, first] = seen_.try_emplace(identity, version);
  if (first || it->second == version) return false;
  it->second = version;
  return true;
}

}  // namespace ses::daemon
