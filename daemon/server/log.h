// Logging for sesd: one line per event, as text (`event key=value ...`) or
// JSON objects, through spdlog. Callers pass only values that are safe to
// log: never plaintext, key bytes, PINs or tokens. Values are escaped and
// capped, so a hostile request cannot forge lines or flood one.
//
// Thread safety: all functions may be called from any thread after
// InitLogging.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "ses/config.h"

namespace ses::daemon {

using ses::LogFormat;
using ses::LogLevel;

// To stderr. Safe to call again (tests, reconfiguration).
void InitLogging(LogFormat format, LogLevel level);

using LogField = std::pair<std::string_view, std::string_view>;
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

}  // namespace ses::daemon
