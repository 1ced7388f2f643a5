// The section tables, ConfigBuilder's dispatch, and the sections sesctl and
// sesd share: [plugins], [cipher], [provider.*], [keyring.*], [cache].
#include <algorithm>
#include <cctype>

#include "config/sections.h"
#include "ses/envelope.h"

namespace ses::internal {
namespace {

const std::vector<std::string_view> kPluginsKeys = {"dir"};
const std::vector<std::string_view> kKeyringKeys = {"key", "mode", "suite", "frame_size"};
const std::vector<std::string_view> kCacheKeys = {"enabled", "max_age", "max_messages", "max_bytes", "max_entries"};
const std::vector<std::string_view> kServerKeys = {"listen",           "workers",
                                                   "max_message_bytes", "max_concurrent_streams",
                                                   "max_batch_items",  "grace_period_seconds",
                                                   "insecure",         "default_deadline_ms"};
const std::vector<std::string_view> kTlsKeys = {"cert_file", "key_file", "client_ca_file", "min_version"};
const std::vector<std::string_view> kTelemetryKeys = {"listen"};
const std::vector<std::string_view> kLogKeys = {"format", "level"};

std::string NameOf(const std::string& section) {
  size_t dot = section.find('.');
  return dot == std::string::npos ? "" : section.substr(dot + 1);
}

// A key URI with the PIN in it would put a secret in the config.
bool HoldsPin(const std::string& uri) {
  std::string lower(uri);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("pin-value") != std::string::npos || lower.find("pin%2dvalue") != std::string::npos;
}

}  // namespace

std::string_view SectionKind(std::string_view section) { return section.substr(0, section.find('.')); }

const std::vector<std::string_view>& FixedSections() {
  static const std::vector<std::string_view> fixed = {"plugins", "cipher", "cache",   "server",
                                                      "tls",     "telemetry", "log", "store"};
  return fixed;
}

bool IsKnownSection(std::string_view section) {
  if (section.find('.') == std::string_view::npos) {
    const auto& fixed = FixedSections();
    return std::find(fixed.begin(), fixed.end(), section) != fixed.end();
  }
  std::string_view kind = SectionKind(section);
  return kind == "provider" || kind == "keyring";
}

const std::vector<std::string_view>* KnownKeys(std::string_view section) {
  std::string_view kind = SectionKind(section);
  if (kind == "keyring") return &kKeyringKeys;
  if (section == "plugins") return &kPluginsKeys;
  if (section == "cache") return &kCacheKeys;
  if (section == "server") return &kServerKeys;
  if (section == "tls") return &kTlsKeys;
  if (section == "telemetry") return &kTelemetryKeys;
  if (section == "log") return &kLogKeys;
  return nullptr;  // cipher, provider.*, store
}

bool IsRepeatable(std::string_view section, std::string_view key) {
  return (section == "plugins" && key == "dir") || (SectionKind(section) == "keyring" && key == "key");
}

ConfigBuilder::ConfigBuilder(Config& config, const IniLines& lines) : cfg_(config), lines_(lines) {
  // An empty keyring is an error in Finish; an empty provider section makes
  // the provider with its defaults.
  for (const auto& [section, line] : lines.sections) {
    std::string kind(SectionKind(section));
    std::string name = NameOf(section);
    if (kind == "keyring" && ValidName(name)) {
      keyrings_[name].name = name;
      cfg_.keyring_lines[name] = line;
    }
    if (kind == "provider" && ValidName(name)) providers_[name] = PluginSection{name, {}, line, {}};
  }
}

Status ConfigBuilder::Unknown(const Setting& s) {
  return ErrorAt(s.origin, "unknown key '" + s.key + "' in [" + s.section + "]");
}

Status ConfigBuilder::Apply(const Setting& s) {
  origins_[s.FullKey()] = s.origin;
  cfg_.origins[s.FullKey()] = s.origin.Where();
  std::string_view kind = SectionKind(s.section);
  std::string name = NameOf(s.section);
  if (s.section == "plugins") return ApplyPlugins(s);
  if (s.section == "cipher") return ApplyCipher(s);
  if (kind == "provider" && !name.empty()) return ApplyProvider(s, name);
  if (kind == "keyring" && !name.empty()) return ApplyKeyring(s, name);
  if (s.section == "cache") return ApplyCache(s);
  if (s.section == "server") return ApplyServer(s);
  if (s.section == "tls") return ApplyTls(s);
  if (s.section == "telemetry") return ApplyTelemetry(s);
  if (s.section == "log") return ApplyLog(s);
  if (s.section == "store") return ApplyStore(s);
  return ErrorAt(s.origin, "unknown section [" + s.section + "]");
}

Status ConfigBuilder::ToPlugin(const Setting& s, PluginSection& section) {
  if (HoldsSecretDirectly(s.key)) {
    return ErrorAt(s.origin, "'" + s.key + "' in [" + s.section +
                                 "] would hold a secret; secrets come only from the environment or files: "
                                 "name a variable or a file instead (for example " + s.key + "_env or " + s.key +
                                 "_file, where the plugin offers them)");
  }
  section.settings[s.key] = s.value;
  if (!s.origin.FromEnvironment()) {
    section.key_lines[s.key] = s.origin.line;
  } else {
    section.key_lines.erase(s.key);
  }
  return OkStatus();
}

Status ConfigBuilder::ApplyPlugins(const Setting& s) {
  if (s.key != "dir") return Unknown(s);
  if (s.value.empty()) return BadValue(s, "expected a directory");
  cfg_.plugin_dirs.push_back(ResolvePath(s));
  return OkStatus();
}

Status ConfigBuilder::ApplyCipher(const Setting& s) {
  if (cfg_.cipher.line == 0) cfg_.cipher.line = lines_.SectionLine(s.section);
  if (s.key == "plugin") {
    if (!ValidName(s.value)) return BadValue(s, "expected a plugin name (1-64 of A-Z a-z 0-9 - _)");
    cfg_.cipher.name = s.value;
    return OkStatus();
  }
  return ToPlugin(s, cfg_.cipher);
}

Status ConfigBuilder::ApplyProvider(const Setting& s, const std::string& name) {
  if (!ValidName(name)) return ErrorAt(s.origin, "bad provider name '" + name + "'");
  PluginSection& p = providers_[name];
  p.name = name;
  p.line = lines_.SectionLine(s.section);
  if (s.key == "plugin") return ErrorAt(s.origin, "[provider.NAME] is named after its plugin; remove 'plugin'");
  return ToPlugin(s, p);
}

Status ConfigBuilder::ApplyKeyring(const Setting& s, const std::string& name) {
  if (!ValidName(name)) return ErrorAt(s.origin, "bad keyring name '" + name + "'");
  KeyringConfig& k = keyrings_[name];
  k.name = name;
  if (s.key == "key") {
    if (s.value.find(':') == std::string::npos) {
      if (s.origin.FromEnvironment()) return BadValue(s, "expected SCHEME:... (e.g. keyfile://master.key)");
      return ErrorAt(s.origin, "bad key URI '" + s.value + "': expected SCHEME:... (e.g. keyfile://master.key)");
    }
    if (HoldsPin(s.value)) {
      return ErrorAt(s.origin,
                     "a key URI may not hold a PIN (pin-value): secrets come only from the environment or "
                     "files; use pin-source=FILE in the URI, or pin_env or pin_file in [provider.pkcs11]");
    }
    k.key_uris.push_back(s.value);
  } else if (s.key == "mode") {
    size_t i = 0;
    SES_RETURN_IF_ERROR(ParseEnum(s, {"any", "all"}, i));
    k.mode = i == 0 ? KeyringMode::kAny : KeyringMode::kAll;
  } else if (s.key == "suite") {
    auto suite = SuiteFromName(s.value);
    if (!suite.ok()) {
      if (!s.origin.FromEnvironment()) return ErrorAt(s.origin, suite.status().message());
      std::string names;
      for (uint16_t id : {kSuiteAes256Gcm, kSuiteChaCha20Poly1305, kSuiteAesGcmChaChaCascade}) {
        names += (names.empty() ? "" : ", ") + std::string(SuiteName(id));
      }
      return BadValue(s, "expected one of " + names);
    }
    k.suite_id = *suite;
  } else if (s.key == "frame_size") {
    SES_RETURN_IF_ERROR(ParseRange<uint32_t>(s, 16, 4 * 1024 * 1024, k.frame_size));
  } else {
    return Unknown(s);
  }
  return OkStatus();
}

Status ConfigBuilder::ApplyCache(const Setting& s) {
  uint64_t n = 0;
  if (s.key == "enabled") {
    return ParseLenientBool(s, cfg_.cache.enabled);
  } else if (s.key == "max_age") {
    SES_RETURN_IF_ERROR(ParseRange<uint64_t>(s, 1, 86400, n));
    cfg_.cache.max_age = std::chrono::seconds(n);
  } else if (s.key == "max_messages") {
    return ParseRange<uint64_t>(s, 1, uint64_t{1} << 32, cfg_.cache.max_messages);
  } else if (s.key == "max_bytes") {
    return ParseRange<uint64_t>(s, 1, uint64_t{1} << 50, cfg_.cache.max_bytes);
  } else if (s.key == "max_entries") {
    SES_RETURN_IF_ERROR(ParseRange<uint64_t>(s, 0, 1000000, n));
    cfg_.cache.max_entries = n;
  } else {
    return Unknown(s);
  }
  return OkStatus();
}

Status ConfigBuilder::Finish() {
  for (auto& [name, k] : keyrings_) {
    if (k.key_uris.empty()) {
      Origin o{cfg_.path, lines_.SectionLine("keyring." + name), ""};
      return ErrorAt(o, "keyring '" + name + "' has no 'key = URI' line");
    }
  }
  SES_RETURN_IF_ERROR(FinishService());
  for (auto& [name, k] : keyrings_) cfg_.keyrings.push_back(std::move(k));
  for (auto& [name, p] : providers_) cfg_.providers.push_back(std::move(p));
  return OkStatus();
}

}  // namespace ses::internal
