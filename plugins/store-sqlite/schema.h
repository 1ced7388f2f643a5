// The store-sqlite schema and its migrations.
//
// The schema version is the database's PRAGMA user_version: 0 for a database
// SES never touched, kSchemaVersion once migrated. Migrations run in order,
// all in one BEGIN IMMEDIATE transaction, so a failed one leaves the version
// (and every table) as it was, and two processes opening a new database at
// once migrate it once. A database newer than this plugin is refused, not
// guessed at.
//
// Thread safety: Migrate runs on one connection, before the store is shared.
#pragma once

#include <cstdint>

#include "sqlite_db.h"
#include "ses/status.h"

namespace ses::store_sqlite {

// The version this plugin writes and understands.
inline constexpr int64_t kSchemaVersion = 1;

// Brings the database behind `conn` to kSchemaVersion. A database at a newer
// version is kFailedPrecondition naming both versions.
Status Migrate(Connection& conn);

// The database's PRAGMA user_version.
StatusOr<int64_t> ReadSchemaVersion(Connection& conn);

// The error for a database whose version this plugin does not know.
Status NewerSchemaError(const Connection& conn, int64_t found);

}  // namespace ses::store_sqlite
