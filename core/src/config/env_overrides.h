// SES_<SECTION>__<KEY> environment overrides of config settings.
//
// An override replaces every value the file gives that key (for repeatable
// keys, the variable holds a comma-separated list). Fixed sections can be
// overridden whether or not the file has them; [keyring.*] and [provider.*]
// only when the file has that section. A variable that looks like an
// override (SES_, then "__") but matches no section or key is an error, so a
// typo is never silently ignored. Variables without "__" (SES_PLUGIN_DIR,
// SES_CONFIG) are not overrides.
//
// Thread safety: a free function.
#pragma once

#include <string>
#include <vector>

#include "config/ini_lines.h"
#include "config/values.h"
#include "ses/config.h"

namespace ses::internal {

// Longest accepted override value, in bytes.
inline constexpr size_t kMaxOverrideBytes = 64 * 1024;

// Returns `settings` (read from `file`, whose sections `lines` lists) without
// the keys `env` overrides, followed by the overrides in variable-name order.
StatusOr<std::vector<Setting>> ApplyEnvironment(std::vector<Setting> settings, const IniLines& lines,
                                                const std::string& file, const Environment& env);

}  // namespace ses::internal
