// What each config section accepts, and ConfigBuilder, which applies
// settings (from the file and the environment alike) to a Config.
//
// Thread safety: ConfigBuilder is used by one thread; the rest are values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/ini_lines.h"
#include "config/values.h"
#include "ses/config.h"

namespace ses::internal {

// [provider.NAME] -> "provider"; [server] -> "server".
std::string_view SectionKind(std::string_view section);
// A section a file may have: a fixed one, provider.NAME or keyring.NAME.
bool IsKnownSection(std::string_view section);
// The sections that exist whether or not the file has them.
const std::vector<std::string_view>& FixedSections();
// The keys `section` accepts, or nullptr when its keys go to a plugin
// ([cipher], [provider.*], [store]), which judges them itself.
const std::vector<std::string_view>* KnownKeys(std::string_view section);
// Keys that may be given more than once: [plugins] dir, [keyring.*] key.
bool IsRepeatable(std::string_view section, std::string_view key);

class ConfigBuilder {
 public:
  // Named sections the file has exist even when empty.
  ConfigBuilder(Config& config, const IniLines& lines);

  Status Apply(const Setting& s);
  // Checks that span keys (a [tls] pair, a keyring's keys) and moves the
  // named sections into the config.
  Status Finish();

 private:
  // Core sections (apply_core.cc).
  Status ApplyPlugins(const Setting& s);
  Status ApplyCipher(const Setting& s);
  Status ApplyProvider(const Setting& s, const std::string& name);
  Status ApplyKeyring(const Setting& s, const std::string& name);
  Status ApplyCache(const Setting& s);
  // sesd's sections (apply_service.cc).
  Status ApplyServer(const Setting& s);
  Status ApplyTls(const Setting& s);
  Status ApplyTelemetry(const Setting& s);
  Status ApplyLog(const Setting& s);
  Status ApplyStore(const Setting& s);
  Status FinishService();

  // Passes a key to a plugin, refusing keys that would hold a secret.
  Status ToPlugin(const Setting& s, PluginSection& section);
  Status Unknown(const Setting& s);

  Config& cfg_;
  const IniLines& lines_;
  std::map<std::string, KeyringConfig> keyrings_;
  std::map<std::string, PluginSection> providers_;
  std::map<std::string, Origin> origins_;  // "section.key" -> last setting
};

}  // namespace ses::internal
