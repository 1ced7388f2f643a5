#include "server/key_sync.h"

#include <set>

#include "engine/key_manager.h"
#include "server/log.h"

namespace ses::daemon {
namespace {

constexpr std::string_view kVersionsNs = "key_versions";
constexpr std::string_view kKeyringsNs = "keyrings";

std::string Identity(const std::string& uri) { return std::string(internal::KeyIdentity(uri)); }

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Whether `versions` holds one that the stored list (one per line) lacks.
bool HasVersionsNotIn(const std::vector<std::string>& versions, const std::string& stored) {
  std::set<std::string> known;
  size_t start = 0;
  for (size_t nl; (nl = stored.find('\n', start)) != std::string::npos; start = nl + 1) {
    known.insert(stored.substr(start, nl - start));
  }
  for (const auto& v : versions) {
    if (known.count(v) == 0) return true;
  }
  return false;
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
  Status first_error;
  std::set<std::string> done;
  for (const auto& keyring : engine_.keyrings()) {
    for (const auto& uri : keyring.key_uris) {
      const std::string identity = Identity(uri);
      if (!done.insert(identity).second) continue;
      // One unreachable provider must not stop the others' versions.
      auto moved = SyncKey(identity, uri);
      if (!moved.ok()) {
        if (first_error.ok()) first_error = moved.status().WithContext(identity);
        continue;
      }
      if (*moved) ++changed;
    }
  }
  if (changed > 0) {
    engine_.ForgetEncryptKeys();
    Log(LogLevel::kInfo, "master key versions changed; new messages use the current versions",
        {{"keys", std::to_string(changed)}});
  }
  if (!first_error.ok()) return first_error;
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
  // The provider knows versions the store does not: record them. (A node
  // whose provider lags behind the store never writes an older list.)
  if (!record.ok() || HasVersionsNotIn(*versions, record->value)) {
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
