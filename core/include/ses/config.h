// The SES configuration file, and building an Engine from it.
//
// An INI file read with Boost.Program_options. Sections: [plugins],
// [cipher], [provider.NAME] (one per key-provider plugin), [keyring.NAME]
// and [cache]; docs/config.md documents every key. Unknown sections and keys,
// and bad values, are errors that name the file and line.
//
// Thread safety: values and free functions.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ses/engine.h"
#include "ses/registry.h"
#include "ses/status.h"

namespace ses {

struct PluginSection {
  std::string name;         // plugin name, e.g. "keyfile"
  PluginConfig settings;    // every key of the section but "plugin"
  int line = 0;             // where the section starts, for errors
  std::map<std::string, int> key_lines;
};

struct Config {
  std::string path;
  std::vector<std::filesystem::path> plugin_dirs;  // empty: Registry::DefaultDirectories
  PluginSection cipher{"cipher-openssl", {}, 0, {}};
  std::vector<PluginSection> providers;
  std::vector<KeyringConfig> keyrings;
  std::map<std::string, int> keyring_lines;  // keyring name -> line of its section
  CacheLimits cache;
};

StatusOr<Config> LoadConfig(const std::filesystem::path& path);

// A loaded registry and an engine built from it. The engine's providers keep
// their libraries loaded; the registry lists what was loaded.
struct Runtime {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Engine> engine;
};

// Loads the plugins and builds the engine a config describes. Key providers
// are instantiated for every [provider.*] section and for every URI scheme a
// keyring uses (with an empty config when it has no section).
StatusOr<Runtime> OpenRuntime(const Config& config);

// Loads plugins from the config's directories (or the defaults) only.
StatusOr<std::unique_ptr<Registry>> LoadPlugins(const Config& config);

}  // namespace ses
