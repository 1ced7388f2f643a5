// LoadConfig: the file's settings, then the environment's overrides, applied
// in that order by one ConfigBuilder, so a value is checked the same way
// wherever it came from.
#include "ses/config.h"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>

#include "config/env_overrides.h"
#include "config/ini_lines.h"
#include "config/sections.h"
#include "config/values.h"

namespace po = boost::program_options;

namespace ses {
namespace {

using internal::ErrorAt;
using internal::Origin;
using internal::Setting;

// Far above any real config; a bigger file is a mistake (or not a config).
constexpr std::streamsize kMaxConfigBytes = 1024 * 1024;

// The file's key = value lines as settings, with their lines, after the
// checks that only make sense in a file (sections, repeats).
StatusOr<std::vector<Setting>> FileSettings(const std::string& file, const std::string& text,
                                            const internal::IniLines& lines) {
  po::parsed_options parsed(nullptr);
  try {
    std::istringstream in(text);
    po::options_description none;
    parsed = po::parse_config_file(in, none, /*allow_unregistered=*/true);
  } catch (const std::exception& e) {
    return InvalidArgumentError(file + ": " + e.what());
  }

  // Sections are checked on their own: an empty one yields no options.
  for (const auto& [section, line] : lines.sections) {
    Origin at{file, line, ""};
    if (!internal::IsKnownSection(section)) return ErrorAt(at, "unknown section [" + section + "]");
    std::string kind(internal::SectionKind(section));
    std::string name = section.find('.') == std::string::npos ? "" : section.substr(section.find('.') + 1);
    if ((kind == "keyring" || kind == "provider") && !internal::ValidName(name)) {
      return ErrorAt(at, "bad " + kind + " name '" + name + "'");
    }
  }

  std::vector<Setting> out;
  std::map<std::string, size_t> seen;  // occurrences so far of each key
  for (const auto& opt : parsed.options) {
    const std::string& full = opt.string_key;
    Origin at{file, lines.LineOf(full, seen[full]++), ""};
    size_t dot = full.rfind('.');
    if (dot == std::string::npos) return ErrorAt(at, "key '" + full + "' is outside any section");
    Setting s{full.substr(0, dot), full.substr(dot + 1), opt.value.empty() ? "" : opt.value.front(), at};
    if (seen[full] > 1 && !internal::IsRepeatable(s.section, s.key)) {
      return ErrorAt(at, "'" + s.key + "' is set twice in [" + s.section + "]");
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string ListenAddress::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Config::Where(std::string_view section, std::string_view key) const {
  auto it = origins.find(std::string(section) + "." + std::string(key));
  return it == origins.end() ? path : it->second;
}

Environment CurrentEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || entry.substr(0, 4) != "SES_") continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

StatusOr<Config> LoadConfig(const std::filesystem::path& path) { return LoadConfig(path, CurrentEnvironment()); }

StatusOr<Config> LoadConfig(const std::filesystem::path& path, const Environment& env) {
  Config cfg;
  cfg.path = path.string();
  const std::string& file = cfg.path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("config file " + file + " cannot be read");
  std::string text(static_cast<size_t>(kMaxConfigBytes) + 1, '\0');
  in.read(text.data(), kMaxConfigBytes + 1);
  if (in.bad()) return NotFoundError("config file " + file + " cannot be read");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > static_cast<size_t>(kMaxConfigBytes)) {
    return InvalidArgumentError("config file " + file + " is larger than " + std::to_string(kMaxConfigBytes) +
                                " bytes");
  }

  // Our own pass finds line numbers and malformed lines, which
  // Program_options reports without a line.
  SES_ASSIGN_OR_RETURN(internal::IniLines lines, internal::IndexIniLines(file, text));
  SES_ASSIGN_OR_RETURN(std::vector<Setting> settings, FileSettings(file, text, lines));
  SES_ASSIGN_OR_RETURN(settings, internal::ApplyEnvironment(std::move(settings), lines, file, env));

  internal::ConfigBuilder builder(cfg, lines);
  for (const Setting& s : settings) SES_RETURN_IF_ERROR(builder.Apply(s));
  SES_RETURN_IF_ERROR(builder.Finish());
  return cfg;
}

}  // namespace ses
