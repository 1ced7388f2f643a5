// The SES configuration file, and building an Engine from it.
//
// An INI file read with Boost.Program_options. Sections: [plugins],
// [cipher], [provider.NAME] (one per key-provider plugin), [keyring.NAME],
// [cache], and for sesd [server], [tls], [telemetry], [log] and [store];
// docs/config.md documents every key. Unknown sections and keys, and bad
// values, are errors that name the file and line.
//
// Every key can also be set from the environment: SES_<SECTION>__<KEY>
// (EnvVariableName) overrides the file. Errors in an override name the
// variable, never its value.
//
// Thread safety: values and free functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ses/engine.h"
#include "ses/registry.h"
#include "ses/status.h"
#include "ses/store.h"

namespace ses {

struct PluginSection {
  std::string name;         // plugin name, e.g. "keyfile"
  PluginConfig settings;    // every key of the section but "plugin"
  int line = 0;             // where the section starts, for errors
  std::map<std::string, int> key_lines;  // keys set in the file
};

// Where a listener binds. IPv6 hosts are kept without brackets.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;

  // "host:port", "[v6]:port": the form gRPC and the config take.
  std::string ToString() const;
  bool operator==(const ListenAddress&) const = default;
};

// [server]: the sesd data plane.
struct ServerConfig {
  ListenAddress listen{"127.0.0.1", 7443};
  unsigned workers = 0;                                  // 0: one per core
  uint64_t max_message_bytes = 4 * 1024 * 1024;          // unary request/response cap
  uint32_t max_concurrent_streams = 100;                 // per connection
  uint32_t max_batch_items = 10000;                      // items in one batch call
  std::chrono::seconds grace_period{20};                 // to finish calls on shutdown
  bool insecure = false;  // plaintext; sesd also requires --insecure
  std::chrono::milliseconds default_deadline{600000};    // 10 min; 0: none
};

enum class TlsVersion { kTls12, kTls13 };

// [tls]: the server's identity, and client certificates for mTLS. Paths are
// absolute (resolved against the config file's directory) or empty: unset.
// The loader does not open them; sesd does at start-up.
struct TlsConfig {
  std::filesystem::path cert_file;       // PEM chain
  std::filesystem::path key_file;        // PEM private key
  std::filesystem::path client_ca_file;  // PEM CAs; set: client certificates required
  TlsVersion min_version = TlsVersion::kTls12;

  bool enabled() const { return !cert_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// [telemetry]: HTTP /metrics, /healthz, /readyz. No address: off.
struct TelemetryConfig {
  std::optional<ListenAddress> listen = ListenAddress{"127.0.0.1", 9464};
};

enum class LogFormat { kText, kJson };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// [log].
struct LogConfig {
  LogFormat format = LogFormat::kText;
  LogLevel level = LogLevel::kInfo;
};

// [store]: the metadata store plugin and how often nodes re-read it.
struct StoreConfig {
  PluginSection plugin{"store-sqlite", {}, 0, {}};  // every key but plugin, poll_seconds
  std::chrono::seconds poll_interval{5};            // poll_seconds
};

struct Config {
  std::string path;
  std::vector<std::filesystem::path> plugin_dirs;  // empty: Registry::DefaultDirectories
  PluginSection cipher{"cipher-openssl", {}, 0, {}};
  std::vector<PluginSection> providers;
  std::vector<KeyringConfig> keyrings;
  std::map<std::string, int> keyring_lines;  // keyring name -> line of its section
  CacheLimits cache;
  ServerConfig server;
  TlsConfig tls;
  TelemetryConfig telemetry;
  LogConfig log;
  StoreConfig store;
  // "section.key" -> where its value came from: "FILE:LINE" or
  // "environment VAR". Keys left at their defaults are absent.
  std::map<std::string, std::string> origins;

  // Where `section`'s `key` was set, for errors found after loading (a TLS
  // file that cannot be read); the file path when it was not set.
  std::string Where(std::string_view section, std::string_view key) const;
};

// Environment variables by name. Tests pass their own; CurrentEnvironment()
// is the process's.
using Environment = std::map<std::string, std::string>;

// The process environment's variables whose names start with "SES_" (the
// only ones LoadConfig reads).
Environment CurrentEnvironment();

// The variable that overrides `key` of `section`: "SES_" + the section
// upper-cased with '.' and '-' as '_' + "__" + the key upper-cased with '-'
// as '_'. EnvVariableName("keyring.payments", "key") is
// "SES_KEYRING_PAYMENTS__KEY".
std::string EnvVariableName(std::string_view section, std::string_view key);

// Reads `path`, then applies the overrides in `env`. Any variable named
// SES_<X>__<Y> must be an override of a known key: [keyring.*] and
// [provider.*] sections only when the file has them, fixed sections always.
StatusOr<Config> LoadConfig(const std::filesystem::path& path, const Environment& env);
// The same with CurrentEnvironment().
StatusOr<Config> LoadConfig(const std::filesystem::path& path);

// A loaded registry and an engine built from it. The engine's providers keep
// their libraries loaded; the registry lists what was loaded.
struct Runtime {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Engine> engine;
  std::vector<NamedKeyProvider> providers;  // as given to the engine (health probes)
};

// Lets a host wrap each key provider before the engine gets it (sesd counts
// and times provider calls this way).
using ProviderDecorator =
    std::function<std::shared_ptr<KeyProvider>(const std::string& name, std::shared_ptr<KeyProvider>)>;

// Loads the plugins and builds the engine a config describes. Key providers
// are instantiated for every [provider.*] section and for every URI scheme a
// keyring uses (with an empty config when it has no section).
StatusOr<Runtime> OpenRuntime(const Config& config, const ProviderDecorator& decorate = nullptr);

// Loads plugins from the config's directories (or the defaults) only.
StatusOr<std::unique_ptr<Registry>> LoadPlugins(const Config& config);

// Makes the store [store] describes from a registry LoadPlugins filled.
// Errors name where the offending key was set, or the [store] section.
StatusOr<std::shared_ptr<Store>> OpenStore(const Config& config, const Registry& registry);

}  // namespace ses
