// KeySync: shares master-key versions between the nodes of a cluster
// through the store, so a rotation made anywhere (one node, `sesctl keys
// rotate`, the KMS console) reaches every node within a poll interval.
//
// Store layout (namespace "key_versions"): key = the master key's identity
// (its URI before '?'), value = its versions oldest first, one per line, as
// the provider lists them. Namespace "keyrings": key = keyring name, value =
// this node's definition (mode, suite, frame size, keys), for operators and
// for spotting nodes whose configs disagree.
//
// Each poll, for every configured master key: the provider's versions are
// compared with the stored record. A provider ahead of the store gets its
// versions written (compare-and-set, so concurrent nodes agree); a record
// that changed since this node last saw it (someone else rotated) makes the
// engine drop its encrypt-side data keys, so the next message is wrapped
// under the current version.
//
// Thread safety: one thread calls Publish and Poll.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "ses/engine.h"
#include "ses/store.h"

namespace ses::daemon {

class KeySync {
 public:
  KeySync(std::shared_ptr<Store> store, Engine& engine);

  // Records the keyrings and current versions; run once at start-up.
  Status Publish();
  // Returns the number of master keys whose versions changed. A key whose
  // provider or record cannot be read is skipped (the others still sync)
  // and the first such error is returned.
  StatusOr<int> Poll();

 private:
  StatusOr<bool> SyncKey(const std::string& identity, const std::string& uri);

  std::shared_ptr<Store> store_;
  Engine& engine_;
  std::map<std::string, uint64_t> seen_;  // identity -> record version last seen
};

}  // namespace ses::daemon
