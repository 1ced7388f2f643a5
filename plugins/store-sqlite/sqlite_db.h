// SQLite plumbing for store-sqlite: result codes as Status, one connection
// with its prepared statements, and a small pool of connections.
//
// Why a pool and not a connection per thread: a connection must be used by
// one thread at a time (connections are opened SQLITE_OPEN_NOMUTEX), and the
// threads calling a store are the host's, not ours. A thread_local
// connection would outlive the store instance and, worse, would be closed by
// a thread-exit destructor after the host unloaded this library. A pool ties
// every connection to the instance (closed in its destructor), bounds the
// file descriptors to kMaxConnections, and still lets readers run in
// parallel, which WAL mode allows.
//
// Errors name the SQLite function, the result code's name and the database
// path ("sqlite3_step: SQLITE_BUSY (database is locked)"), never SQL
// parameters or record values.
//
// Thread safety: a Connection is used by one thread at a time (the pool
// hands each to one lease holder); ConnectionPool is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

#include "ses/status.h"

namespace ses::store_sqlite {

// "SQLITE_BUSY", "SQLITE_IOERR_FSYNC", ...; the primary code's name for an
// extended code not in the table.
std::string ResultCodeName(int rc);

// The Status for result `rc` of `function` on the database at `path`:
// BUSY/LOCKED are kUnavailable, FULL/NOMEM kResourceExhausted,
// READONLY/PERM/AUTH kPermissionDenied, CORRUPT/NOTADB kDataLoss,
// IOERR kUnavailable, CANTOPEN kFailedPrecondition, the rest kInternal.
Status SqliteStatus(int rc, std::string_view function, const std::string& path);

struct ConnectionOptions {
  std::string path;
  int busy_timeout_ms = 5000;
  bool synchronous_full = true;
};

class Connection {
 public:
  // Opens an existing database file read-write and applies the
  // per-connection settings (busy timeout, foreign keys, synchronous).
  static StatusOr<std::unique_ptr<Connection>> Open(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs SQL text with no parameters and no result rows (may hold several
  // statements).
  Status Exec(const char* sql);

  // The prepared statement for `sql`, a string literal (the cache is keyed
  // by its address), reset and with no bindings.
  StatusOr<sqlite3_stmt*> Prepare(const char* sql);

  Status Error(int rc, std::string_view function) const { return SqliteStatus(rc, function, path_); }

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// Resets a statement from Connection::Prepare when the scope ends, so its
// read transaction ends and bound pointers are forgotten.
class ScopedStatement {
 public:
  explicit ScopedStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ScopedStatement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

class ConnectionPool {
 public:
  static constexpr size_t kMaxConnections = 8;

  // `first` is an open, migrated connection; more are opened on demand.
  ConnectionPool(ConnectionOptions options, std::unique_ptr<Connection> first);
  ~ConnectionPool();

  // A connection for the lease's lifetime; returned to the pool after.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Blocks while kMaxConnections are leased.
  StatusOr<Lease> Acquire();

 private:
  void Release(std::unique_ptr<Connection> conn);

  const ConnectionOptions options_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t open_ = 0;  // idle plus leased
};

}  // namespace ses::store_sqlite
