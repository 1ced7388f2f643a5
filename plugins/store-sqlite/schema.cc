#include "schema.h"

#include <string>

namespace ses::store_sqlite {
namespace {

// kMigrations[i] takes the schema from version i to i + 1. Append only: a
// released migration never changes, since databases already ran it.
constexpr const char* kMigrations[] = {
    // 0 -> 1: the records table. updated_at is milliseconds since the Unix
    // epoch, for operators; nothing reads it back.
    "CREATE TABLE records ("
    "  ns TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value BLOB NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version >= 1),"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (ns, key)"
    ");",
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

}  // namespace

StatusOr<int64_t> ReadSchemaVersion(Connection& conn) {
  SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn.Prepare("PRAGMA user_version"));
  ScopedStatement stmt(raw);
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return conn.Error(rc, "sqlite3_step");
  return static_cast<int64_t>(sqlite3_column_int64(stmt.get(), 0));
}

Status NewerSchemaError(const Connection& conn, int64_t found) {
  return FailedPreconditionError("store-sqlite: " + conn.path() + " has schema version " + std::to_string(found) +
                                 ", newer than version " + std::to_string(kSchemaVersion) +
                                 ", the newest this plugin knows; use a newer store-sqlite");
}

Status Migrate(Connection& conn) {
  // IMMEDIATE takes the write lock before the version is read, so no other
  // process can migrate between our read and our write.
  SES_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    SES_ASSIGN_OR_RETURN(int64_t version, ReadSchemaVersion(conn));
    if (version > kSchemaVersion) return NewerSchemaError(conn, version);
    if (version < 0) {
      return FailedPreconditionError("store-sqlite: " + conn.path() + " has invalid schema version " +
                                     std::to_string(version));
    }
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      int rc = sqlite3_exec(conn.db(), kMigrations[v], nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) {
        return conn.Error(rc, "sqlite3_exec (migration to schema version " + std::to_string(v + 1) + ")");
      }
    }
    if (version == kSchemaVersion) return OkStatus();
    // PRAGMA takes no parameters; the number is ours, not input.
    std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    return conn.Exec(set.c_str());
  };
  Status s = body();
  if (s.ok()) s = conn.Exec("COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(conn.db())) {
    sqlite3_exec(conn.db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return s;
}

}  // namespace ses::store_sqlite
