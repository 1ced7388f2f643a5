// `sesd --dev [--dir DIR]`: everything a local development server needs,
// created once under DIR and reused afterwards: a dev PKI (DIR/tls), a
// keyfile master key (DIR/master.key), a SQLite store (DIR/store.db) and the
// config that ties them together (DIR/sesd.conf, which the operator may
// edit: it is never overwritten).
//
// Not for production: the master key is a file beside the data it protects.
#pragma once

#include <filesystem>

#include "ses/status.h"

namespace ses::daemon {

inline constexpr const char* kDevKeyring = "dev";

// Prepares DIR (made absolute) and returns the config file to run with.
StatusOr<std::filesystem::path> PrepareDevDir(const std::filesystem::path& dir);

}  // namespace ses::daemon
