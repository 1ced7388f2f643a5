// IniLines: where each key of an INI file stands, so config errors can name
// the line (Boost.Program_options parses the file but forgets positions).
//
// Also the first check of the file: a line that is neither blank, a comment,
// a [section] nor key = value is reported with its number.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ses/status.h"

namespace ses::internal {

struct IniLines {
  std::map<std::string, std::vector<int>> keys;  // "section.key" -> lines, in order
  std::map<std::string, int> sections;           // "section" -> line of its header

  // Line of the n-th (0-based) occurrence of `full_key`; 0 if unknown.
  int LineOf(const std::string& full_key, size_t n) const;
  int SectionLine(const std::string& section) const;
};

StatusOr<IniLines> IndexIniLines(const std::string& file, const std::string& text);

}  // namespace ses::internal
