#include "server/log.h"

#include <atomic>
#include <memory>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ses::daemon {
namespace {

constexpr size_t kMaxValueBytes = 256;
std::atomic<LogFormat> g_format{LogFormat::kText};

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Escapes control characters, quotes, backslashes and every non-ASCII byte
// (as \u00XX: the line stays valid JSON even when a client sent bytes that
// are not UTF-8), and caps the length.
void AppendEscaped(std::string& out, std::string_view value) {
  const bool capped = value.size() > kMaxValueBytes;
  if (capped) value = value.substr(0, kMaxValueBytes);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {  // controls, and bytes that may not be UTF-8
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (capped) out += "...";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

}  // namespace

void InitLogging(LogFormat format, LogLevel level) {
  auto logger = spdlog::get("sesd");
  if (!logger) logger = std::make_shared<spdlog::logger>("sesd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(ToSpd(level));
  logger->flush_on(spdlog::level::warn);
  if (!spdlog::get("sesd")) spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  g_format = format;
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(ToSpd(level))) return;
  std::string line;
  line.reserve(128);
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kJson) {
    line += "\"event\":\"";
    AppendEscaped(line, event);
    line += '"';
    for (const auto& [key, value] : fields) {
      line += ",\"";
      AppendEscaped(line, key);
      line += "\":\"";
      AppendEscaped(line, value);
      line += '"';
    }
  } else {
    AppendEscaped(line, event);
    for (const auto& [key, value] : fields) {
      line += ' ';
      AppendEscaped(line, key);
      line += '=';
      if (NeedsQuotes(value)) {
        line += '"';
        AppendEscaped(line, value);
        line += '"';
      } else {
        line += value;
      }
    }
  }
  logger->log(ToSpd(level), "{}", line);
}

}  // namespace ses::daemon
