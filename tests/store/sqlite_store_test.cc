// store-sqlite beyond the conformance suite: its file (mode, WAL, reopening),
// its schema migrations, its config, contention with another process's
// write lock, and durability of acknowledged writes across kill -9.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sqlite_test_util.h"
#include "status_matchers.h"

namespace ses::store_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::ses::testing::StatusIs;

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777;  // matches nothing a test expects
  return st.st_mode & 07777;
}

TEST(SqliteStoreTest, ReopeningKeepsRecordsAndVersions) {
  TempDir dir;
  const std::string path = dir.Join("store.db");
  {
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Put("keyrings", "default", std::string("a\0b", 3), 0).ok());
    ASSERT_TRUE((*store)->Put("keyrings", "default", std::string("c\0d", 3), 1).ok());
    ASSERT_TRUE((*store)->Put("clients", "app", "x", 0).ok());
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = (*store)->Get("keyrings", "default");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->value, std::string("c\0d", 3));
  EXPECT_EQ(r->version, 2u);
  auto v = (*store)->Put("keyrings", "default", "e", 2);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 3u);
  EXPECT_TRUE((*store)->Get("clients", "app").ok());
}

// Even under a umask that grants everything: the file and SQLite's WAL file
// beside it are the owner's alone.
TEST(SqliteStoreTest, CreatesTheDatabaseAndItsWalWithMode0600) {
  TempDir dir;
  const std::string path = dir.Join("store.db");
  mode_t old = ::umask(0);
  auto store = OpenSqliteStore(path);
  ::umask(old);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("ns", "k", "v", 0).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_TRUE(std::filesystem::exists(path + "-wal"));
  EXPECT_EQ(ModeOf(path + "-wal"), 0600u);
  ASSERT_TRUE(std::filesystem::exists(path + "-shm"));
  EXPECT_EQ(ModeOf(path + "-shm"), 0600u);
}

TEST(SqliteStoreTest, UsesWalModeAndTheCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = dir.Join("store.db");
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "1");
  EXPECT_EQ(raw.Query("SELECT group_concat(name, ',') FROM pragma_table_info('records')"),
            "ns,key,value,version,updated_at");
}

// A database at schema version 0 (here one some other tool made) is migrated
// in place, and what was in it stays.
TEST(SqliteStoreTest, MigratesAVersionZeroDatabase) {
  TempDir dir;
  const std::string path = dir.Join("old.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('kept');"), "");
    ASSERT_EQ(raw.Query("PRAGMA user_version"), "0");
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("ns", "k", "v", 0).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "1");
  EXPECT_EQ(raw.Query("SELECT x FROM notes"), "kept");
  EXPECT_EQ(raw.Query("SELECT version FROM records WHERE ns = 'ns' AND key = 'k'"), "1");
}

// The migrations run in one transaction: one that fails leaves the version
// where it was, so a fixed database migrates cleanly later.
TEST(SqliteStoreTest, AFailedMigrationLeavesTheSchemaVersionAlone) {
  TempDir dir;
  const std::string path = dir.Join("clash.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE records (something_else INTEGER);"), "");
  }
  auto store = OpenSqliteStore(path);
  EXPECT_THAT(store.status(), StatusIs(StatusCode::kInternal,
                                       AllOf(HasSubstr(path), HasSubstr("migration to schema version 1"),
                                             HasSubstr("SQLITE_ERROR"))));
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "0");
  ASSERT_EQ(raw.Exec("DROP TABLE records;"), "");
  EXPECT_TRUE(OpenSqliteStore(path).ok());
}

TEST(SqliteStoreTest, RefusesADatabaseFromANewerPlugin) {
  TempDir dir;
  const std::string path = dir.Join("future.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 42;"), "");
  }
  auto store = OpenSqliteStore(path);
  EXPECT_THAT(store.status(),
              StatusIs(StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(path), HasSubstr("schema version 42"), HasSubstr("version 1"))));
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "42");
}

TEST(SqliteStoreTest, AFileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.Join("junk.db");
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  auto store = OpenSqliteStore(path);
  EXPECT_THAT(store.status(),
              StatusIs(StatusCode::kDataLoss, AllOf(HasSubstr(path), HasSubstr("SQLITE_NOTADB"))));
}

TEST(SqliteStoreTest, ConfigErrorsNameTheKey) {
  TempDir dir;
  const std::string path = dir.Join("store.db");
  struct Case {
    PluginConfig config;
    StatusCode code;
    std::string says;
  };
  const Case cases[] = {
      {{}, StatusCode::kInvalidArgument, "'path' is required"},
      {{{"path", ""}}, StatusCode::kInvalidArgument, "'path'"},
      {{{"path", ":memory:"}}, StatusCode::kInvalidArgument, "'path'"},
      {{{"path", "file:x.db?mode=memory"}}, StatusCode::kInvalidArgument, "'path'"},
      {{{"path", dir.Join("no-such-dir/store.db")}}, StatusCode::kFailedPrecondition,
       dir.Join("no-such-dir") + " (parent of 'path'"},
      {{{"path", path}, {"busy_timeout_ms", "-1"}}, StatusCode::kInvalidArgument, "'busy_timeout_ms'"},
      {{{"path", path}, {"busy_timeout_ms", "5s"}}, StatusCode::kInvalidArgument, "'busy_timeout_ms'"},
      {{{"path", path}, {"busy_timeout_ms", "600001"}}, StatusCode::kInvalidArgument, "'busy_timeout_ms'"},
      {{{"path", path}, {"synchronous", "off"}}, StatusCode::kInvalidArgument, "'synchronous'"},
      {{{"path", path}, {"journal_mode", "delete"}}, StatusCode::kInvalidArgument, "'journal_mode'"},
  };
  for (const auto& c : cases) {
    auto store = OpenSqliteStore(c.config);
    EXPECT_THAT(store.status(), StatusIs(c.code, AllOf(HasSubstr("initialisation failed"), HasSubstr(c.says))));
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing was created on the way
}

TEST(SqliteStoreTest, AcceptsEveryDocumentedSetting) {
  TempDir dir;
  auto store = OpenSqliteStore(
      {{"path", dir.Join("s.db")}, {"busy_timeout_ms", "0"}, {"synchronous", "normal"}});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("ns", "k", "v", 0).ok());
  auto full = OpenSqliteStore(
      {{"path", dir.Join("s.db")}, {"busy_timeout_ms", "600000"}, {"synchronous", "full"}});
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_TRUE((*full)->Get("ns", "k").ok());
}

// Another process (here a raw connection) holds the write lock: with no busy
// timeout a write fails at once, as UNAVAILABLE naming the SQLite call, the
// code and the file, while reads go on (WAL readers never wait for writers).
TEST(SqliteStoreTest, AHeldWriteLockMakesWritesUnavailableAndLeavesReadsAlone) {
  TempDir dir;
  const std::string path = dir.Join("busy.db");
  auto store = OpenSqliteStore({{"path", path}, {"busy_timeout_ms", "0"}});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("ns", "k", "before", 0).ok());

  RawDb other(path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE;"), "");
  auto put = (*store)->Put("ns", "k", "secret-during", 1);
  EXPECT_THAT(put.status(), StatusIs(StatusCode::kUnavailable,
                                     AllOf(HasSubstr("store-sqlite"), HasSubstr(path), HasSubstr("sqlite3_step"),
                                           HasSubstr("SQLITE_BUSY"), Not(HasSubstr("secret")))));
  EXPECT_THAT((*store)->Remove("ns", "k"), StatusIs(StatusCode::kUnavailable, HasSubstr("SQLITE_BUSY")));
  auto read = (*store)->Get("ns", "k");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->value, "before");

  ASSERT_EQ(other.Exec("COMMIT;"), "");
  auto after = (*store)->Put("ns", "k", "after", 1);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, 2u);
}

// Two instances on one file (as two sesd processes would be) see each
// other's writes, and compare-and-set holds across them.
TEST(SqliteStoreTest, TwoInstancesShareOneFile) {
  TempDir dir;
  const std::string path = dir.Join("shared.db");
  auto a = OpenSqliteStore(path);
  auto b = OpenSqliteStore(path);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Put("ns", "k", "from a", 0).ok());
  auto seen = (*b)->Get("ns", "k");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->value, "from a");
  ASSERT_TRUE((*b)->Put("ns", "k", "from b", 1).ok());
  EXPECT_EQ((*a)->Put("ns", "k", "stale", 1).status().code(), StatusCode::kFailedPrecondition);
}

std::string DurableValue(int i) { return std::string("v\0", 2) + std::to_string(i) + std::string(100, 'd'); }

// The child writes records in a loop and acknowledges each key on a pipe
// only after Put returned. The parent waits for kAcks acknowledgements, kills
// the child with SIGKILL mid-stream, and checks every acknowledged record is
// in the file. Nothing depends on timing: the kill follows the acks read.
TEST(SqliteStoreTest, EveryAcknowledgedWriteSurvivesKill9) {
  constexpr int kAcks = 200;
  TempDir dir;
  const std::string path = dir.Join("durable.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: no gtest assertions and no return into gtest, only _exit.
    ::close(fds[0]);
    auto store = OpenSqliteStore(path);
    if (!store.ok()) ::_exit(2);
    for (int i = 0; i < 10'000'000; ++i) {
      if (!(*store)->Put("durable", "k" + std::to_string(i), DurableValue(i), 0).ok()) ::_exit(3);
      std::string ack = std::to_string(i) + "\n";
      if (::write(fds[1], ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(fds[1]);

  std::string received;
  auto complete_lines = [&] { return std::count(received.begin(), received.end(), '\n'); };
  bool eof = false;
  while (complete_lines() < kAcks && !eof) {
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, 120'000);  // generous: only a hung child takes this long
    if (ready <= 0) break;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      eof = true;
    } else {
      received.append(buf, static_cast<size_t>(n));
    }
  }
  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
      << "the child ended on its own, exit status " << (WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
  ASSERT_GE(complete_lines(), kAcks);
  // Acknowledgements still in the pipe count too.
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) received.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);

  std::vector<int> acked;
  size_t start = 0;
  for (size_t nl; (nl = received.find('\n', start)) != std::string::npos; start = nl + 1) {
    acked.push_back(std::stoi(received.substr(start, nl - start)));
  }
  ASSERT_GE(acked.size(), static_cast<size_t>(kAcks));

  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int missing = 0;
  for (int i : acked) {
    auto r = (*store)->Get("durable", "k" + std::to_string(i));
    if (!r.ok() || r->value != DurableValue(i) || r->version != 1) ++missing;
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged writes";
  auto listed = (*store)->List("durable", "k");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_GE(listed->size(), acked.size());
  EXPECT_TRUE((*store)->Health().ok());
}

}  // namespace
}  // namespace ses::store_test
