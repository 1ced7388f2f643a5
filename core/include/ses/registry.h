// Registry: loads plugin shared libraries, validates them, and makes provider
// instances from them.
//
// Loading checks, before calling anything but the entry point, that the file
// exists and loads, exports ses_plugin_entry, speaks ABI major
// SES_PLUGIN_ABI_MAJOR, is of a known kind with a complete table, and has a
// name no loaded plugin has. Each failure is one error naming the file and the
// reason. Instances made here keep their library loaded for as long as they
// live, even after the Registry is gone.
//
// In-process providers (tests, embedders) can be added next to plugins.
//
// Thread safety: Load*/Add* and New* may not run concurrently with each other;
// instances they return are thread-safe as their interfaces say.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ses/cipher.h"
#include "ses/key_provider.h"
#include "ses/status.h"
#include "ses/store.h"

namespace ses {

enum class PluginKind { kKeyProvider = 1, kCipher = 2, kStore = 3 };
std::string_view PluginKindName(PluginKind kind);

struct PluginDescriptor {
  std::string name;
  PluginKind kind = PluginKind::kKeyProvider;
  std::string version;      // the plugin's own version
  int abi_major = 0;
  int abi_minor = 0;
  std::string path;         // file it came from; "(built-in)" for in-process ones
  std::string uri_schemes;  // key providers only, comma-separated
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads one plugin file.
  Status Load(const std::filesystem::path& file);
  // Loads every "ses_*.so" in `dir` (sorted by name). A missing directory is
  // an error; so is any plugin in it that fails to load (plugins loaded
  // before the failing one stay loaded: callers treat the error as fatal).
  Status LoadDirectory(const std::filesystem::path& dir);

  // Makes an in-process provider available under `name` (tests, embedding).
  using KeyProviderFactory = StatusOr<std::shared_ptr<KeyProvider>> (*)(const PluginConfig&);
  Status AddKeyProvider(std::string name, std::string uri_schemes, KeyProviderFactory factory);

  std::vector<PluginDescriptor> Plugins() const;
  bool Has(std::string_view name) const;
  // The key-provider plugin serving URI scheme `scheme`, if any.
  StatusOr<std::string> KeyProviderForScheme(std::string_view scheme) const;

  StatusOr<std::shared_ptr<KeyProvider>> NewKeyProvider(std::string_view name,
                                                        const PluginConfig& config) const;
  StatusOr<std::shared_ptr<CipherProvider>> NewCipher(std::string_view name,
                                                      const PluginConfig& config) const;
  StatusOr<std::shared_ptr<Store>> NewStore(std::string_view name, const PluginConfig& config) const;

  // Where plugins are looked for when the config names no directory:
  // $SES_PLUGIN_DIR (made absolute; a missing one fails at load, by name),
  // else the first existing of <exe dir>/../plugins (build tree) and
  // <exe dir>/../lib/ses/plugins (installed).
  static std::vector<std::filesystem::path> DefaultDirectories();

 private:
  struct Entry;
  StatusOr<const Entry*> Find(std::string_view name, PluginKind kind) const;
  Status CheckSchemesFree(std::string_view comma_separated) const;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace ses
