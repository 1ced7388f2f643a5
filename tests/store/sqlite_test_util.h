// Helpers for the store-sqlite tests: the real plugin through a Registry and
// a raw SQLite handle for looking at the file from outside the store. The
// private temporary directory is tests/support's TempDir.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "ses/registry.h"
#include "ses/store.h"
#include "test_env.h"

namespace ses::store_test {

using ::ses::testing::TempDir;

inline const std::string kSqlitePluginPath =
    (std::filesystem::path(SES_TEST_PLUGIN_DIR) / "ses_store-sqlite.so").string();

// A store-sqlite instance made by the real loader from the built plugin. The
// Registry goes away at once: the store keeps its library loaded.
inline StatusOr<std::shared_ptr<Store>> OpenSqliteStore(const PluginConfig& config) {
  Registry registry;
  SES_RETURN_IF_ERROR(registry.Load(kSqlitePluginPath));
  return registry.NewStore("store-sqlite", config);
}

inline StatusOr<std::shared_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(PluginConfig{{"path", path}});
}

// A plain SQLite connection for a test to inspect or prepare a file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("sqlite3_open_v2 failed for " + path);
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Runs SQL; returns "" or SQLite's error message.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string out = rc == SQLITE_OK ? "" : (err ? err : "error");
    sqlite3_free(err);
    return out;
  }

  // The first column of the first row of `sql` as text ("" if none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return "error: prepare";
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace ses::store_test
