#include "sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>

#include "schema.h"

namespace ses::store_sqlite {
namespace {

constexpr const char* kGetSql = "SELECT value, version FROM records WHERE ns = ?1 AND key = ?2";
constexpr const char* kVersionSql = "SELECT version FROM records WHERE ns = ?1 AND key = ?2";
constexpr const char* kInsertSql =
    "INSERT INTO records (ns, key, value, version, updated_at) VALUES (?1, ?2, ?3, 1, ?4)";
constexpr const char* kUpdateSql =
    "UPDATE records SET value = ?3, version = ?4, updated_at = ?5 WHERE ns = ?1 AND key = ?2";
constexpr const char* kDeleteSql = "DELETE FROM records WHERE ns = ?1 AND key = ?2";
// A prefix is a key range [prefix, successor), which the primary key index
// serves, and which has no wildcards to escape (unlike LIKE or GLOB).
constexpr const char* kListAllSql = "SELECT key FROM records WHERE ns = ?1 ORDER BY key";
constexpr const char* kListRangeSql =
    "SELECT key FROM records WHERE ns = ?1 AND key >= ?2 AND key < ?3 ORDER BY key";
constexpr const char* kListFromSql = "SELECT key FROM records WHERE ns = ?1 AND key >= ?2 ORDER BY key";
constexpr const char* kBeginSql = "BEGIN IMMEDIATE";
constexpr const char* kCommitSql = "COMMIT";

Status ConfigError(const std::string& message) { return InvalidArgumentError("store-sqlite: " + message); }

StatusOr<ConnectionOptions> ParseConfig(const PluginConfig& config) {
  ConnectionOptions o;
  bool have_path = false;
  for (const auto& [key, value] : config) {
    if (key == "path") {
      // ":memory:" and "file:" names mean something else to SQLite, and an
      // in-memory store would lose everything at exit.
      if (value.empty() || value[0] == ':' || value.rfind("file:", 0) == 0) {
        return ConfigError("'path' must name a database file");
      }
      o.path = value;
      have_path = true;
    } else if (key == "busy_timeout_ms") {
      int v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size() || v < 0 ||
          v > SqliteStore::kMaxBusyTimeoutMs) {
        return ConfigError("'busy_timeout_ms' must be an integer from 0 to " +
                           std::to_string(SqliteStore::kMaxBusyTimeoutMs));
      }
      o.busy_timeout_ms = v;
    } else if (key == "synchronous") {
      if (value == "full") {
        o.synchronous_full = true;
      } else if (value == "normal") {
        o.synchronous_full = false;
      } else {
        return ConfigError("'synchronous' must be 'full' or 'normal'");
      }
    } else {
      return ConfigError("unknown config key '" + key + "'");
    }
  }
  if (!have_path) return ConfigError("'path' is required");
  return o;
}

Status ErrnoError(int err, const char* op, const std::string& path) {
  std::string m = "store-sqlite: " + std::string(op) + " " + path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return PermissionDeniedError(m);
  return FailedPreconditionError(m);
}

// Creates the database file with mode 0600 unless it exists. SQLite would
// create it from the umask (often 0644), and its -wal and -shm files copy the
// database file's mode.
Status CreateFileIfAbsent(const std::string& path) {
  std::string parent = ".";
  if (size_t slash = path.find_last_of('/'); slash != std::string::npos) parent = slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("store-sqlite: directory " + parent + " (parent of 'path' " + path +
                                   ") does not exist");
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    // The umask may have taken bits from 0600; set exactly that.
    int rc = ::fchmod(fd, 0600);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError(err, "chmod", path);
    return OkStatus();
  }
  if (errno != EEXIST) return ErrnoError(errno, "create", path);
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) return FailedPreconditionError("store-sqlite: " + path + " is not a regular file");
  return OkStatus();
}

int64_t NowMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Binds parameters that the statement reads only while its ScopedStatement
// lives (hence SQLITE_STATIC), remembering the first failure.
class Binder {
 public:
  Binder(const Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}

  Binder& Text(int index, std::string_view s) {
    return Check(sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC),
                 "sqlite3_bind_text");
  }
  Binder& Blob(int index, std::string_view s) {
    // A NULL pointer would bind SQL NULL, not an empty value.
    if (s.empty()) return Check(sqlite3_bind_zeroblob(stmt_, index, 0), "sqlite3_bind_zeroblob");
    return Check(sqlite3_bind_blob(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_STATIC),
                 "sqlite3_bind_blob");
  }
  Binder& Int(int index, int64_t v) { return Check(sqlite3_bind_int64(stmt_, index, v), "sqlite3_bind_int64"); }

  Status status() const { return status_; }

 private:
  Binder& Check(int rc, const char* function) {
    if (rc != SQLITE_OK && status_.ok()) status_ = conn_.Error(rc, function);
    return *this;
  }

  const Connection& conn_;
  sqlite3_stmt* stmt_;
  Status status_;
};

Status CheckNames(std::string_view ns, std::string_view key) {
  Status s = ValidateStoreName("ns", ns);
  if (s.ok()) s = ValidateStoreName("key", key);
  return s.ok() ? s : s.WithContext("store-sqlite");
}

std::string Names(std::string_view ns, std::string_view key) {
  return "'" + std::string(ns) + "'/'" + std::string(key) + "'";
}

// The smallest string greater than every string starting with `prefix`, or
// empty when there is none (the prefix is all 0xff bytes).
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// Rolls back on scope exit unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  ~Transaction() {
    if (!sqlite3_get_autocommit(conn_.db())) sqlite3_exec(conn_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin() { return Step(kBeginSql, "sqlite3_step (BEGIN)"); }
  Status Commit() { return Step(kCommitSql, "sqlite3_step (COMMIT)"); }

 private:
  Status Step(const char* sql, const char* what) {
    SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn_.Prepare(sql));
    ScopedStatement stmt(raw);
    int rc = sqlite3_step(stmt.get());
    return rc == SQLITE_DONE ? OkStatus() : conn_.Error(rc, what);
  }

  Connection& conn_;
};

}  // namespace

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Create(const PluginConfig& config) {
  SES_ASSIGN_OR_RETURN(ConnectionOptions options, ParseConfig(config));
  if (sqlite3_threadsafe() == 0) {
    return FailedPreconditionError("store-sqlite: the SQLite library was built without thread support");
  }
  SES_RETURN_IF_ERROR(CreateFileIfAbsent(options.path));
  SES_ASSIGN_OR_RETURN(std::unique_ptr<Connection> first, Connection::Open(options));

  // journal_mode is stored in the file, so one connection sets it for all.
  {
    SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, first->Prepare("PRAGMA journal_mode = WAL"));
    ScopedStatement stmt(raw);
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return first->Error(rc, "sqlite3_step (PRAGMA journal_mode)");
    auto mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    if (mode == nullptr || std::strcmp(mode, "wal") != 0) {
      return FailedPreconditionError("store-sqlite: " + options.path +
                                     ": cannot use WAL mode (the file system may not support it)");
    }
  }
  SES_RETURN_IF_ERROR(Migrate(*first));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(options), std::move(first)));
}

StatusOr<StoreRecord> SqliteStore::Get(std::string_view ns, std::string_view key) {
  SES_RETURN_IF_ERROR(CheckNames(ns, key));
  SES_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn->Prepare(kGetSql));
  ScopedStatement stmt(raw);
  SES_RETURN_IF_ERROR(Binder(*conn, raw).Text(1, ns).Text(2, key).status());
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return NotFoundError("store-sqlite: no record " + Names(ns, key));
  if (rc != SQLITE_ROW) return conn->Error(rc, "sqlite3_step");
  StoreRecord record;
  const void* blob = sqlite3_column_blob(stmt.get(), 0);
  int len = sqlite3_column_bytes(stmt.get(), 0);
  if (blob != nullptr && len > 0) record.value.assign(static_cast<const char*>(blob), static_cast<size_t>(len));
  record.version = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1));
  return record;
}

StatusOr<uint64_t> SqliteStore::Put(std::string_view ns, std::string_view key, std::string_view value,
                                    uint64_t expected_version) {
  SES_RETURN_IF_ERROR(CheckNames(ns, key));
  if (Status s = ValidateStoreValue(value); !s.ok()) return s.WithContext("store-sqlite");

  std::lock_guard<std::mutex> writer(write_mu_);
  SES_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  Transaction tx(*conn);
  SES_RETURN_IF_ERROR(tx.Begin());

  uint64_t stored = 0;  // 0: absent
  {
    SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn->Prepare(kVersionSql));
    ScopedStatement stmt(raw);
    SES_RETURN_IF_ERROR(Binder(*conn, raw).Text(1, ns).Text(2, key).status());
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) {
      stored = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 0));
    } else if (rc != SQLITE_DONE) {
      return conn->Error(rc, "sqlite3_step");
    }
  }
  if (stored != expected_version) {
    return FailedPreconditionError("store-sqlite: version conflict on " + Names(ns, key) + ": expected version " +
                                   std::to_string(expected_version) + ", stored version " +
                                   std::to_string(stored) + (stored == 0 ? " (absent)" : ""));
  }
  // Versions are SQLite integers (signed 64-bit); one that cannot grow is
  // refused rather than wrapped.
  if (stored >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return FailedPreconditionError("store-sqlite: " + Names(ns, key) + " is at the largest version");
  }

  uint64_t next = stored + 1;
  {
    SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn->Prepare(stored == 0 ? kInsertSql : kUpdateSql));
    ScopedStatement stmt(raw);
    Binder bind(*conn, raw);
    bind.Text(1, ns).Text(2, key).Blob(3, value);
    if (stored == 0) {
      bind.Int(4, NowMillis());
    } else {
      bind.Int(4, static_cast<int64_t>(next)).Int(5, NowMillis());
    }
    SES_RETURN_IF_ERROR(bind.status());
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_DONE) return conn->Error(rc, "sqlite3_step");
  }
  SES_RETURN_IF_ERROR(tx.Commit());
  return next;
}

Status SqliteStore::Remove(std::string_view ns, std::string_view key) {
  SES_RETURN_IF_ERROR(CheckNames(ns, key));
  std::lock_guard<std::mutex> writer(write_mu_);
  SES_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn->Prepare(kDeleteSql));
  ScopedStatement stmt(raw);
  SES_RETURN_IF_ERROR(Binder(*conn, raw).Text(1, ns).Text(2, key).status());
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_DONE) return conn->Error(rc, "sqlite3_step");
  if (sqlite3_changes(conn->db()) == 0) return NotFoundError("store-sqlite: no record " + Names(ns, key));
  return OkStatus();
}

StatusOr<std::vector<std::string>> SqliteStore::List(std::string_view ns, std::string_view prefix) {
  Status valid = ValidateStoreName("ns", ns);
  if (valid.ok()) valid = ValidateStoreName("prefix", prefix, /*allow_empty=*/true);
  if (!valid.ok()) return valid.WithContext("store-sqlite");

  std::string upper = PrefixSuccessor(prefix);
  const char* sql = prefix.empty() ? kListAllSql : (upper.empty() ? kListFromSql : kListRangeSql);
  SES_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  SES_ASSIGN_OR_RETURN(sqlite3_stmt * raw, conn->Prepare(sql));
  ScopedStatement stmt(raw);
  Binder bind(*conn, raw);
  bind.Text(1, ns);
  if (!prefix.empty()) bind.Text(2, prefix);
  if (!upper.empty()) bind.Text(3, upper);
  SES_RETURN_IF_ERROR(bind.status());
  std::vector<std::string> keys;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    int len = sqlite3_column_bytes(stmt.get(), 0);
    keys.emplace_back(text != nullptr ? text : "", text != nullptr ? static_cast<size_t>(len) : 0);
  }
  if (rc != SQLITE_DONE) return conn->Error(rc, "sqlite3_step");
  return keys;
}

Status SqliteStore::Health() {
  SES_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // Reads the database header through the pool: an unreadable file shows,
  // and so does a newer plugin that migrated the file meanwhile.
  SES_ASSIGN_OR_RETURN(int64_t version, ReadSchemaVersion(*conn));
  if (version != kSchemaVersion) {
    if (version > kSchemaVersion) return NewerSchemaError(*conn, version);
    return FailedPreconditionError("store-sqlite: " + conn->path() + " is at schema version " +
                                   std::to_string(version) + ", expected " + std::to_string(kSchemaVersion));
  }
  return OkStatus();
}

}  // namespace ses::store_sqlite
