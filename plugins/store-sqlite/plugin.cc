// Exports SqliteStore as the "store-sqlite" store plugin (ses_store-sqlite.so).
#include "ses/plugin/store_adapter.h"
#include "sqlite_store.h"

SES_STORE_PLUGIN("store-sqlite", "0.1.0", ses::store_sqlite::SqliteStore)
