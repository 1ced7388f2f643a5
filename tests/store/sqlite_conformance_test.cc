// The Store conformance suite against store-sqlite, loaded as a plugin by the
// real Registry: each test gets a fresh database file.
#include <atomic>
#include <string>

#include "sqlite_test_util.h"
#include "store_conformance.h"

namespace ses::store_test {
namespace {

StoreFactory SqliteFactory() {
  return {"StoreSqlite", []() -> StatusOr<std::shared_ptr<Store>> {
            // One directory for the whole run, removed at exit, after every
            // store (each test drops its own in TearDown) has closed its file.
            static TempDir dir;
            static std::atomic<int> n{0};
            return OpenSqliteStore(dir.Join("conformance-" + std::to_string(++n) + ".db"));
          }};
}

INSTANTIATE_TEST_SUITE_P(StoreSqlite, StoreConformanceTest, ::testing::Values(SqliteFactory()),
                         StoreFactoryName);

}  // namespace
}  // namespace ses::store_test
