#include "config/env_overrides.h"

#include <cctype>
#include <map>
#include <set>

#include "config/sections.h"

namespace ses {
namespace {

// Upper case, with '.' and '-' as '_'.
std::string EnvPart(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::string EnvVariableName(std::string_view section, std::string_view key) {
  return "SES_" + EnvPart(section) + "__" + EnvPart(key);
}

namespace internal {
namespace {

bool LooksLikeOverride(const std::string& var) {
  return var.rfind("SES_", 0) == 0 && var.find("__") != std::string::npos;
}

// "SES_<SECTION>__" -> the sections with that prefix (two when names like
// keyring.a-b and keyring.a_b collide).
using Prefixes = std::map<std::string, std::vector<std::string>>;

Prefixes SectionPrefixes(const IniLines& lines) {
  Prefixes out;
  for (std::string_view s : FixedSections()) out["SES_" + EnvPart(s) + "__"].emplace_back(s);
  for (const auto& [section, line] : lines.sections) {
    if (section.find('.') != std::string::npos) out["SES_" + EnvPart(section) + "__"].push_back(section);
  }
  return out;
}

// The key of `section` that the variable's KEY part names.
StatusOr<std::string> ResolveKey(const std::string& section, const std::string& env_key,
                                 const std::vector<Setting>& settings, const Origin& origin) {
  if (env_key.empty() || env_key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) {
    return ErrorAt(origin, "the part after '__' must be a key in upper case (A-Z, 0-9, _)");
  }
  if (const auto* keys = KnownKeys(section)) {
    for (std::string_view k : *keys) {
      if (EnvPart(k) == env_key) return std::string(k);
    }
    return ErrorAt(origin, "unknown key '" + Lower(env_key) + "' in [" + section + "]");
  }
  // A plugin's keys: reuse the file's spelling (it may have '-').
  std::set<std::string> spelled;
  for (const Setting& s : settings) {
    if (s.section == section && EnvPart(s.key) == env_key) spelled.insert(s.key);
  }
  if (spelled.size() > 1) {
    return ErrorAt(origin, "matches more than one key of [" + section + "]; spell them differently");
  }
  return spelled.empty() ? Lower(env_key) : *spelled.begin();
}

}  // namespace

StatusOr<std::vector<Setting>> ApplyEnvironment(std::vector<Setting> settings, const IniLines& lines,
                                                const std::string& file, const Environment& env) {
  const Prefixes prefixes = SectionPrefixes(lines);
  std::vector<Setting> overrides;
  std::set<std::string> replaced;  // "section.key"
  for (const auto& [var, value] : env) {
    if (!LooksLikeOverride(var)) continue;
    Origin origin{file, 0, var};
    // The longest prefix wins: a keyring named "a__b" is still reachable.
    const std::pair<const std::string, std::vector<std::string>>* match = nullptr;
    for (const auto& p : prefixes) {
      if (var.size() > p.first.size() && var.compare(0, p.first.size(), p.first) == 0 &&
          (match == nullptr || p.first.size() > match->first.size())) {
        match = &p;
      }
    }
    if (match == nullptr) {
      if (var.rfind("SES_KEYRING_", 0) == 0 || var.rfind("SES_PROVIDER_", 0) == 0) {
        return ErrorAt(origin, file + " has no [keyring.NAME] or [provider.NAME] section it names; such sections "
                                      "can be overridden only when the file has them");
      }
      return ErrorAt(origin, "names no known section; overrides are SES_<SECTION>__<KEY> (docs/config.md)");
    }
    if (match->second.size() > 1) {
      return ErrorAt(origin, "matches both [" + match->second[0] + "] and [" + match->second[1] +
                                 "]; rename one of the sections");
    }
    const std::string& section = match->second.front();
    SES_ASSIGN_OR_RETURN(std::string key, ResolveKey(section, var.substr(match->first.size()), settings, origin));
    if (value.size() > kMaxOverrideBytes) {
      return ErrorAt(origin, "value is longer than " + std::to_string(kMaxOverrideBytes) + " bytes");
    }
    replaced.insert(section + "." + key);
    if (!IsRepeatable(section, key)) {
      overrides.push_back(Setting{section, key, value, origin});
      continue;
    }
    // A list: "a,b,c", each item one value of the key.
    size_t begin = 0;
    while (true) {
      size_t comma = value.find(',', begin);
      std::string item = value.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
      if (item.empty()) return ErrorAt(origin, "empty item in the comma-separated list for '" + key + "'");
      overrides.push_back(Setting{section, key, item, origin});
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  }
  std::erase_if(settings, [&](const Setting& s) { return replaced.count(s.FullKey()) != 0; });
  for (Setting& s : overrides) settings.push_back(std::move(s));
  return settings;
}

}  // namespace internal
}  // namespace ses
