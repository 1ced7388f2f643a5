#include "config/ini_lines.h"

#include <sstream>

namespace ses::internal {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

int IniLines::LineOf(const std::string& full_key, size_t n) const {
  auto it = keys.find(full_key);
  return it == keys.end() || n >= it->second.size() ? 0 : it->second[n];
}

int IniLines::SectionLine(const std::string& section) const {
  auto it = sections.find(section);
  return it == sections.end() ? 0 : it->second;
}

StatusOr<IniLines> IndexIniLines(const std::string& file, const std::string& text) {
  IniLines out;
  std::istringstream in(text);
  std::string raw, section;
  for (int n = 1; std::getline(in, raw); ++n) {
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return InvalidArgumentError(file + ":" + std::to_string(n) + ": malformed section header");
      }
      section = Trim(line.substr(1, line.size() - 2));
      if (out.sections.count(section) != 0) {
        return InvalidArgumentError(file + ":" + std::to_string(n) + ": section [" + section + "] appears twice");
      }
      out.sections[section] = n;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || Trim(line.substr(0, eq)).empty()) {
      return InvalidArgumentError(file + ":" + std::to_string(n) + ": expected 'key = value'");
    }
    std::string key = Trim(line.substr(0, eq));
    // Program_options would cut the value at '#' without a word.
    if (line.find('#', eq) != std::string::npos) {
      return InvalidArgumentError(file + ":" + std::to_string(n) +
                                  ": '#' cannot appear in a value (comments take a line of their own)");
    }
    out.keys[section.empty() ? key : section + "." + key].push_back(n);
  }
  return out;
}

}  // namespace ses::internal
