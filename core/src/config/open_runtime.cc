#include <set>

#include "ses/config.h"

namespace ses {
namespace {

// Prefixes a plugin's configuration error with where the key it names was
// set (a line, or an environment variable), or else its section's line.
Status InSection(const Config& cfg, const PluginSection& section, const std::string& header, const Status& s) {
  std::string where = section.line > 0 ? cfg.path + ":" + std::to_string(section.line) : cfg.path;
  for (const auto& [key, value] : section.settings) {
    if (s.message().find("'" + key + "'") != std::string::npos) where = cfg.Where(header, key);
  }
  return s.WithContext(where + ": [" + header + "]");
}

std::string_view SchemeOf(std::string_view uri) { return uri.substr(0, uri.find(':')); }

// Prefixes an error about keyring `name` with the line of its section.
Status InKeyring(const Config& cfg, const std::string& name, const Status& s) {
  auto it = cfg.keyring_lines.find(name);
  std::string where = it == cfg.keyring_lines.end() ? cfg.path : cfg.path + ":" + std::to_string(it->second);
  return s.WithContext(where + ": [keyring." + name + "]");
}

}  // namespace

StatusOr<std::unique_ptr<Registry>> LoadPlugins(const Config& config) {
  auto registry = std::make_unique<Registry>();
  std::vector<std::filesystem::path> dirs = config.plugin_dirs;
  if (dirs.empty()) dirs = Registry::DefaultDirectories();
  if (dirs.empty()) {
    return FailedPreconditionError("no plugin directory: set [plugins] dir in " + config.path +
                                   " or the SES_PLUGIN_DIR environment variable");
  }
  for (const auto& d : dirs) SES_RETURN_IF_ERROR(registry->LoadDirectory(d));
  return registry;
}

StatusOr<Runtime> OpenRuntime(const Config& config, const ProviderDecorator& decorate) {
  Runtime rt;
  SES_ASSIGN_OR_RETURN(rt.registry, LoadPlugins(config));

  EngineOptions options;
  options.keyrings = config.keyrings;
  options.cache = config.cache;
  auto cipher = rt.registry->NewCipher(config.cipher.name, config.cipher.settings);
  if (!cipher.ok()) return InSection(config, config.cipher, "cipher", cipher.status());
  options.cipher = std::move(cipher).value();

  std::set<std::string> made;
  for (const auto& section : config.providers) {
    auto p = rt.registry->NewKeyProvider(section.name, section.settings);
    if (!p.ok()) return InSection(config, section, "provider." + section.name, p.status());
    std::shared_ptr<KeyProvider> provider = std::move(p).value();
    if (decorate) provider = decorate(section.name, std::move(provider));
    options.providers.push_back({section.name, std::move(provider)});
    made.insert(section.name);
  }
  // A keyring's URI scheme picks its plugin; one with no section gets defaults.
  for (const auto& k : config.keyrings) {
    for (const auto& uri : k.key_uris) {
      auto name = rt.registry->KeyProviderForScheme(SchemeOf(uri));
      if (!name.ok()) return InKeyring(config, k.name, name.status());
      if (made.count(*name) != 0) continue;
      SES_ASSIGN_OR_RETURN(std::shared_ptr<KeyProvider> p, rt.registry->NewKeyProvider(*name, {}));
      if (decorate) p = decorate(*name, std::move(p));
      options.providers.push_back({*name, std::move(p)});
      made.insert(*name);
    }
  }
  rt.providers = options.providers;
  auto engine = Engine::Create(std::move(options));
  if (!engine.ok()) {
    for (const auto& k : config.keyrings) {
      if (engine.status().message().find("keyring '" + k.name + "'") != std::string::npos) {
        return InKeyring(config, k.name, engine.status());
      }
    }
    return engine.status().WithContext(config.path);
  }
  rt.engine = std::move(engine).value();
  return rt;
}

StatusOr<std::shared_ptr<Store>> OpenStore(const Config& config, const Registry& registry) {
  auto store = registry.NewStore(config.store.plugin.name, config.store.plugin.settings);
  if (!store.ok()) return InSection(config, config.store.plugin, "store", store.status());
  return std::move(store).value();
}

}  // namespace ses
