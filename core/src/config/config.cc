#include "ses/config.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>

#include "config/ini_lines.h"

namespace po = boost::program_options;

namespace ses {
namespace {

Status At(const std::string& file, int line, const std::string& what) {
  return InvalidArgumentError(file + ":" + std::to_string(line) + ": " + what);
}

template <typename T>
bool ParseNumber(const std::string& s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status ParseBool(const std::string& file, int line, const std::string& key, const std::string& v, bool& out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off" || v == "0") {
    out = false;
  } else {
    return At(file, line, "bad value '" + v + "' for " + key + ": expected true or false");
  }
  return OkStatus();
}

template <typename T>
Status ParseRange(const std::string& file, int line, const std::string& key, const std::string& v, T lo, T hi,
                  T& out) {
  if (!ParseNumber(v, out) || out < lo || out > hi) {
    return At(file, line, "bad value '" + v + "' for " + key + ": expected an integer from " + std::to_string(lo) +
                              " to " + std::to_string(hi));
  }
  return OkStatus();
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

StatusOr<Config> LoadConfig(const std::filesystem::path& path) {
  Config cfg;
  cfg.path = path.string();
  const std::string& file = cfg.path;
  std::ifstream in(path);
  if (!in) return NotFoundError("config file " + file + " cannot be read");
  std::stringstream text;
  text << in.rdbuf();

  // Our own pass finds line numbers and malformed lines, which
  // Program_options reports without a line.
  SES_ASSIGN_OR_RETURN(internal::IniLines lines, internal::IndexIniLines(file, text.str()));

  po::parsed_options parsed(nullptr);
  try {
    std::istringstream again(text.str());
    po::options_description none;
    parsed = po::parse_config_file(again, none, /*allow_unregistered=*/true);
  } catch (const std::exception& e) {
    return InvalidArgumentError(file + ": " + e.what());
  }

  // Sections are checked on their own: an empty one yields no options.
  for (const auto& [section, line] : lines.sections) {
    std::string kind = section.substr(0, section.find('.'));
    bool named = section.find('.') != std::string::npos;
    bool known = (!named && (section == "plugins" || section == "cipher" || section == "cache")) ||
                 (named && (kind == "provider" || kind == "keyring"));
    if (!known) return At(file, line, "unknown section [" + section + "]");
  }

  std::map<std::string, KeyringConfig> keyrings;
  std::map<std::string, PluginSection> providers;
  // Named sections exist even when empty: an empty keyring is an error below,
  // an empty provider section makes the provider with its defaults.
  for (const auto& [section, line] : lines.sections) {
    std::string kind = section.substr(0, section.find('.'));
    std::string name = section.substr(section.find('.') + 1);
    if (section.find('.') == std::string::npos || !ValidName(name)) {
      if (kind == "keyring" || kind == "provider") return At(file, line, "bad " + kind + " name '" + name + "'");
      continue;
    }
    if (kind == "keyring") keyrings[name].name = name;
    if (kind == "provider") providers[name] = PluginSection{name, {}, line, {}};
    if (kind == "keyring") cfg.keyring_lines[name] = line;
  }

  std::map<std::string, size_t> seen;  // occurrences so far of each key
  std::set<std::string> singletons;

  for (const auto& opt : parsed.options) {
    const std::string& full = opt.string_key;
    int line = lines.LineOf(full, seen[full]++);
    std::string value = opt.value.empty() ? "" : opt.value.front();
    size_t dot = full.rfind('.');
    if (dot == std::string::npos) return At(file, line, "key '" + full + "' is outside any section");
    std::string section = full.substr(0, dot), key = full.substr(dot + 1);
    std::string kind = section.substr(0, section.find('.'));
    std::string name = section.find('.') == std::string::npos ? "" : section.substr(section.find('.') + 1);
    auto unknown = [&] { return At(file, line, "unknown key '" + key + "' in [" + section + "]"); };
    auto once = [&]() -> Status {
      if ((section == "plugins" && key == "dir") || (kind == "keyring" && key == "key")) return OkStatus();
      if (!singletons.insert(full).second) return At(file, line, "'" + key + "' is set twice in [" + section + "]");
      return OkStatus();
    };
    SES_RETURN_IF_ERROR(once());

    if (section == "plugins") {
      if (key != "dir") return unknown();
      std::filesystem::path dir(value);
      if (dir.is_relative()) dir = std::filesystem::absolute(path).parent_path() / dir;
      cfg.plugin_dirs.push_back(dir);
    } else if (section == "cipher") {
      if (key == "plugin") {
        if (!ValidName(value)) return At(file, line, "bad plugin name '" + value + "'");
        cfg.cipher.name = value;
      } else {
        cfg.cipher.settings[key] = value;
        cfg.cipher.key_lines[key] = line;
      }
      if (cfg.cipher.line == 0) cfg.cipher.line = lines.SectionLine(section);
    } else if (kind == "provider" && !name.empty()) {
      if (!ValidName(name)) return At(file, line, "bad provider name '" + name + "'");
      PluginSection& p = providers[name];
      p.name = name;
      p.line = lines.SectionLine(section);
      if (key == "plugin") return At(file, line, "[provider.NAME] is named after its plugin; remove 'plugin'");
      p.settings[key] = value;
      p.key_lines[key] = line;
    } else if (kind == "keyring" && !name.empty()) {
      if (!ValidName(name)) return At(file, line, "bad keyring name '" + name + "'");
      KeyringConfig& k = keyrings[name];
      k.name = name;
      if (key == "key") {
        if (value.find(':') == std::string::npos) {
          return At(file, line, "bad key URI '" + value + "': expected SCHEME:... (e.g. keyfile://master.key)");
        }
        k.key_uris.push_back(value);
      } else if (key == "mode") {
        if (value == "any") {
          k.mode = KeyringMode::kAny;
        } else if (value == "all") {
          k.mode = KeyringMode::kAll;
        } else {
          return At(file, line, "bad value '" + value + "' for mode: expected any or all");
        }
      } else if (key == "suite") {
        auto suite = SuiteFromName(value);
        if (!suite.ok()) return At(file, line, suite.status().message());
        k.suite_id = *suite;
      } else if (key == "frame_size") {
        SES_RETURN_IF_ERROR(ParseRange<uint32_t>(file, line, key, value, 16, 4 * 1024 * 1024, k.frame_size));
      } else {
        return unknown();
      }
    } else if (section == "cache") {
      uint64_t n = 0;
      if (key == "enabled") {
        SES_RETURN_IF_ERROR(ParseBool(file, line, key, value, cfg.cache.enabled));
      } else if (key == "max_age") {
        SES_RETURN_IF_ERROR(ParseRange<uint64_t>(file, line, key, value, 1, 86400, n));
        cfg.cache.max_age = std::chrono::seconds(n);
      } else if (key == "max_messages") {
        SES_RETURN_IF_ERROR(ParseRange<uint64_t>(file, line, key, value, 1, uint64_t{1} << 32, cfg.cache.max_messages));
      } else if (key == "max_bytes") {
        SES_RETURN_IF_ERROR(ParseRange<uint64_t>(file, line, key, value, 1, uint64_t{1} << 50, cfg.cache.max_bytes));
      } else if (key == "max_entries") {
        SES_RETURN_IF_ERROR(ParseRange<uint64_t>(file, line, key, value, 0, 1000000, n));
        cfg.cache.max_entries = n;
      } else {
        return unknown();
      }
    } else {
      return At(file, line, "unknown section [" + section + "]");
    }
  }
  for (auto& [name, k] : keyrings) {
    if (k.key_uris.empty()) {
      return At(file, lines.SectionLine("keyring." + name), "keyring '" + name + "' has no 'key = URI' line");
    }
    cfg.keyrings.push_back(std::move(k));
  }
  for (auto& [name, p] : providers) cfg.providers.push_back(std::move(p));
  return cfg;
}

}  // namespace ses
