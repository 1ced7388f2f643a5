// SqliteStore: the embedded default Store, one SQLite database file.
//
// Config keys (any other key is an error):
//   path             required. The database file; its parent directory must
//                    exist. Created with mode 0600 if absent (SQLite gives
//                    its -wal and -shm files the same mode).
//   busy_timeout_ms  how long a call waits for another process's write lock
//                    before failing with kUnavailable; 0 to 600000, default 5000.
//   synchronous      "full" (default: a committed write survives power loss)
//                    or "normal" (it survives a crash of the process; WAL
//                    mode may lose the last commits on power loss).
//
// The database runs in WAL mode (readers never block the writer) with
// foreign keys on, and is migrated to the plugin's schema at open (see
// schema.h). Records live in records(ns, key, value, version, updated_at).
// A Put is a compare-and-set inside BEGIN IMMEDIATE, so it is atomic against
// other processes sharing the file as well as other threads.
//
// Limits (ses/store.h): ns and key 1 to 256 bytes of UTF-8 without control
// characters, values at most 1 MiB.
//
// Thread safety: every method may be called from many threads at once.
// Ownership: the store owns its connections and closes them on destruction.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ses/key_provider.h"  // PluginConfig
#include "ses/store.h"
#include "sqlite_db.h"

namespace ses::store_sqlite {

class SqliteStore final : public Store {
 public:
  static constexpr int kDefaultBusyTimeoutMs = 5000;
  static constexpr int kMaxBusyTimeoutMs = 600000;

  static StatusOr<std::unique_ptr<SqliteStore>> Create(const PluginConfig& config);

  StatusOr<StoreRecord> Get(std::string_view ns, std::string_view key) override;
  StatusOr<uint64_t> Put(std::string_view ns, std::string_view key, std::string_view value,
                         uint64_t expected_version) override;
  Status Remove(std::string_view ns, std::string_view key) override;
  StatusOr<std::vector<std::string>> List(std::string_view ns, std::string_view prefix) override;
  Status Health() override;

 private:
  SqliteStore(ConnectionOptions options, std::unique_ptr<Connection> first)
      : pool_(std::move(options), std::move(first)) {}

  ConnectionPool pool_;
  // Writers of this process take turns here rather than in SQLite's busy
  // handler, which polls with sleeps; BEGIN IMMEDIATE and the busy timeout
  // still arbitrate against other processes. Taken before a connection is
  // leased, so queued writers never hold connections readers could use.
  std::mutex write_mu_;
};

}  // namespace ses::store_sqlite
