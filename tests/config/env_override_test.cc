// SES_<SECTION>__<KEY> overrides: naming, precedence, refusals, and errors
// that name the variable but never its value.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "config_fixture.h"

namespace ses::testing {
namespace {

using EnvOverrideTest = ConfigTest;

const char kKeyring[] = "[keyring.main]\nkey = keyfile://a.key\n";

TEST(EnvVariableNameTest, FollowsTheDocumentedRule) {
  EXPECT_EQ(EnvVariableName("server", "listen"), "SES_SERVER__LISTEN");
  EXPECT_EQ(EnvVariableName("tls", "key_file"), "SES_TLS__KEY_FILE");
  EXPECT_EQ(EnvVariableName("keyring.payments", "key"), "SES_KEYRING_PAYMENTS__KEY");
  EXPECT_EQ(EnvVariableName("provider.pkcs11", "pin_env"), "SES_PROVIDER_PKCS11__PIN_ENV");
  EXPECT_EQ(EnvVariableName("cache", "max_age"), "SES_CACHE__MAX_AGE");
  EXPECT_EQ(EnvVariableName("keyring.eu-west", "frame_size"), "SES_KEYRING_EU_WEST__FRAME_SIZE");
  EXPECT_EQ(EnvVariableName("cipher", "config-file"), "SES_CIPHER__CONFIG_FILE");
}

TEST_F(EnvOverrideTest, SetsAKeyTheFileDoesNotHave) {
  auto c = Load(kKeyring, {{"SES_SERVER__LISTEN", "[::]:9000"}, {"SES_LOG__FORMAT", "json"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen.ToString(), "[::]:9000");
  EXPECT_EQ(c->log.format, LogFormat::kJson);
  EXPECT_EQ(c->Where("server", "listen"), "environment SES_SERVER__LISTEN");
}

TEST_F(EnvOverrideTest, OverridesTheFileValue) {
  const std::string text = std::string(kKeyring) + "[server]\nworkers = 4\nlisten = 127.0.0.1:1000\n[cache]\nmax_age = 60\n";
  auto c = Load(text, {{"SES_SERVER__WORKERS", "16"}, {"SES_CACHE__MAX_AGE", "900"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.workers, 16u);
  EXPECT_EQ(c->cache.max_age, std::chrono::seconds(900));
  EXPECT_EQ(c->server.listen.port, 1000);  // not overridden
  EXPECT_EQ(c->Where("server", "listen"), path() + ":5");

  // The file's value is replaced, not checked: an override can fix it.
  auto fixed = Load("[server]\nworkers = many\n", {{"SES_SERVER__WORKERS", "2"}});
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  EXPECT_EQ(fixed->server.workers, 2u);
}

// Every key of every fixed section with a known key set can be overridden;
// this also keeps the env table and the parsers in step.
TEST_F(EnvOverrideTest, EveryFixedKeyCanBeSet) {
  const std::vector<std::tuple<std::string, std::string, std::string>> keys = {
      {"plugins", "dir", "/opt/ses/plugins"},
      {"cipher", "plugin", "cipher-openssl"},
      {"cipher", "properties", "fips=yes"},
      {"cache", "enabled", "false"},
      {"cache", "max_age", "10"},
      {"cache", "max_messages", "10"},
      {"cache", "max_bytes", "10"},
      {"cache", "max_entries", "10"},
      {"server", "listen", "0.0.0.0:1"},
      {"server", "workers", "3"},
      {"server", "max_message_bytes", "2048"},
      {"server", "max_concurrent_streams", "7"},
      {"server", "max_batch_items", "9"},
      {"server", "grace_period_seconds", "5"},
      {"server", "insecure", "true"},
      {"server", "default_deadline_ms", "250"},
      {"tls", "min_version", "1.3"},
      {"telemetry", "listen", "127.0.0.1:9999"},
      {"log", "format", "json"},
      {"log", "level", "warn"},
      {"store", "plugin", "store-postgres"},
      {"store", "poll_seconds", "60"},
      {"store", "path", "/var/lib/ses/ses.db"},
  };
  for (const auto& [section, key, value] : keys) {
    std::string var = EnvVariableName(section, key);
    SCOPED_TRACE(var);
    auto c = Load(kKeyring, {{var, value}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->Where(section, key), "environment " + var);
  }
  auto tls = Load(kKeyring, {{"SES_TLS__CERT_FILE", "/etc/ses/s.pem"},
                             {"SES_TLS__KEY_FILE", "s.key"},
                             {"SES_TLS__CLIENT_CA_FILE", "/etc/ses/ca.pem"}});
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->tls.cert_file, std::filesystem::path("/etc/ses/s.pem"));
  EXPECT_EQ(tls->tls.key_file, dir().path() / "s.key");  // relative: against the config's directory
  EXPECT_TRUE(tls->tls.mutual());
  auto store = Load(kKeyring, {{"SES_STORE__PATH", "x.db"}, {"SES_STORE__POLL_SECONDS", "9"}});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->store.plugin.settings, (PluginConfig{{"path", (dir().path() / "x.db").string()}}));
  EXPECT_EQ(store->store.poll_interval, std::chrono::seconds(9));
}

TEST_F(EnvOverrideTest, UnknownKeysAndSectionsAreRefusedByName) {
  ExpectError(kKeyring, {{"SES_SERVER__LISTN", "127.0.0.1:1"}},
              "environment SES_SERVER__LISTN: unknown key 'listn' in [server]");
  ExpectError(kKeyring, {{"SES_CACHE__MAX_AGE_SECONDS", "5"}},
              "environment SES_CACHE__MAX_AGE_SECONDS: unknown key 'max_age_seconds' in [cache]");
  ExpectError(kKeyring, {{"SES_KEYRING_MAIN__KEYS", "keyfile://b.key"}},
              "environment SES_KEYRING_MAIN__KEYS: unknown key 'keys' in [keyring.main]");
  ExpectError(kKeyring, {{"SES_SERVRE__LISTEN", "127.0.0.1:1"}},
              "environment SES_SERVRE__LISTEN: names no known section; overrides are SES_<SECTION>__<KEY> "
              "(docs/config.md)");
  ExpectError(kKeyring, {{"SES_SERVER__listen", "127.0.0.1:1"}},
              "environment SES_SERVER__listen: the part after '__' must be a key in upper case (A-Z, 0-9, _)");
  ExpectError(kKeyring, {{"SES_SERVER__", "127.0.0.1:1"}},
              "environment SES_SERVER__: names no known section; overrides are SES_<SECTION>__<KEY> (docs/config.md)");
}

TEST_F(EnvOverrideTest, NamedSectionsOnlyWhenTheFileHasThem) {
  ExpectError(kKeyring, {{"SES_KEYRING_OTHER__KEY", "keyfile://b.key"}},
              "environment SES_KEYRING_OTHER__KEY: " + path() +
                  " has no [keyring.NAME] or [provider.NAME] section it names; such sections can be overridden "
                  "only when the file has them");
  ExpectError(kKeyring, {{"SES_PROVIDER_PKCS11__PIN_ENV", "HSM_PIN"}},
              "environment SES_PROVIDER_PKCS11__PIN_ENV: " + path() +
                  " has no [keyring.NAME] or [provider.NAME] section it names; such sections can be overridden "
                  "only when the file has them");

  auto c = Load("[provider.pkcs11]\npin_env = OLD\n[keyring.eu-west]\nkey = keyfile://a.key\nmode = any\n",
                {{"SES_PROVIDER_PKCS11__PIN_ENV", "HSM_PIN"},
                 {"SES_PROVIDER_PKCS11__MODULE", "/usr/lib/softhsm/libsofthsm2.so"},
                 {"SES_KEYRING_EU_WEST__MODE", "all"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->providers.size(), 1u);
  EXPECT_EQ(c->providers[0].settings,
            (PluginConfig{{"pin_env", "HSM_PIN"}, {"module", "/usr/lib/softhsm/libsofthsm2.so"}}));
  EXPECT_TRUE(c->providers[0].key_lines.empty());  // both from the environment
  ASSERT_EQ(c->keyrings.size(), 1u);
  EXPECT_EQ(c->keyrings[0].mode, KeyringMode::kAll);
}

TEST_F(EnvOverrideTest, ARepeatableKeyTakesACommaSeparatedList) {
  auto c = Load("[plugins]\ndir = /a\ndir = /b\n[keyring.main]\nkey = keyfile://old.key\n",
                {{"SES_KEYRING_MAIN__KEY", "keyfile://a.key,keyfile://b.key"}, {"SES_PLUGINS__DIR", "p1,/p2"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->keyrings.size(), 1u);
  EXPECT_EQ(c->keyrings[0].key_uris, (std::vector<std::string>{"keyfile://a.key", "keyfile://b.key"}));
  EXPECT_EQ(c->plugin_dirs, (std::vector<std::filesystem::path>{dir().path() / "p1", "/p2"}));

  ExpectError(kKeyring, {{"SES_KEYRING_MAIN__KEY", "keyfile://a.key,,keyfile://b.key"}},
              "environment SES_KEYRING_MAIN__KEY: empty item in the comma-separated list for 'key'");
  ExpectError(kKeyring, {{"SES_PLUGINS__DIR", ""}},
              "environment SES_PLUGINS__DIR: empty item in the comma-separated list for 'dir'");
}

TEST_F(EnvOverrideTest, AKeyringMayGetAllItsKeysFromTheEnvironment) {
  auto c = Load("[keyring.main]\nmode = any\n", {{"SES_KEYRING_MAIN__KEY", "keyfile://a.key"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keyrings[0].key_uris, (std::vector<std::string>{"keyfile://a.key"}));
}

TEST_F(EnvOverrideTest, BadValuesNameTheVariableAndNeverTheValue) {
  const std::string marker = "s3cr3t-271828";
  struct Case {
    std::string var, value, message;
  };
  const Case cases[] = {
      {"SES_SERVER__LISTEN", "127.0.0.1:99999", "bad value for listen: port must be 0-65535 (0: any free port)"},
      {"SES_SERVER__LISTEN", marker, "bad value for listen: expected HOST:PORT, e.g. 127.0.0.1:7443"},
      {"SES_SERVER__INSECURE", marker, "bad value for insecure: expected true or false"},
      {"SES_SERVER__WORKERS", marker, "bad value for workers: expected an integer from 0 to 1024"},
      {"SES_TLS__MIN_VERSION", marker, "bad value for min_version: expected 1.2 or 1.3"},
      {"SES_LOG__LEVEL", marker, "bad value for level: expected trace, debug, info, warn or error"},
      {"SES_CACHE__ENABLED", marker, "bad value for enabled: expected true or false"},
      {"SES_STORE__POLL_SECONDS", marker, "bad value for poll_seconds: expected an integer from 1 to 3600"},
      {"SES_STORE__PLUGIN", marker + "/x", "bad value for plugin: expected a plugin name (1-64 of A-Z a-z 0-9 - _)"},
      {"SES_KEYRING_MAIN__KEY", marker, "bad value for key: expected SCHEME:... (e.g. keyfile://master.key)"},
      {"SES_KEYRING_MAIN__SUITE", marker,
       "bad value for suite: expected one of aes-256-gcm, chacha20-poly1305, aes-256-gcm+chacha20-poly1305"},
      {"SES_KEYRING_MAIN__MODE", marker, "bad value for mode: expected any or all"},
      {"SES_KEYRING_MAIN__KEY", "pkcs11:token=t;object=o?pin-value=" + marker,
       "a key URI may not hold a PIN (pin-value): secrets come only from the environment or files; use "
       "pin-source=FILE in the URI, or pin_env or pin_file in [provider.pkcs11]"},
      {"SES_STORE__PASSWORD", marker,
       "'password' in [store] would hold a secret; secrets come only from the environment or files: name a "
       "variable or a file instead (for example password_env or password_file, where the plugin offers them)"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.var);
    auto c = Load(kKeyring, {{k.var, k.value}});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().message(), "environment " + k.var + ": " + k.message);
    EXPECT_EQ(c.status().message().find(marker), std::string::npos);
  }
}

TEST_F(EnvOverrideTest, CrossKeyChecksNameTheVariable) {
  ExpectError(kKeyring, {{"SES_TLS__CERT_FILE", "s.pem"}},
              "environment SES_TLS__CERT_FILE: [tls] cert_file is set but key_file is not: give both or neither");
  ExpectError("[tls]\ncert_file = s.pem\nkey_file = s.key\n", {{"SES_SERVER__INSECURE", "true"}},
              "environment SES_SERVER__INSECURE: [server] insecure = true (plaintext) contradicts [tls] cert_file; "
              "remove one of them");
  // Emptying both TLS files from the environment turns TLS off.
  auto c = Load("[tls]\ncert_file = s.pem\nkey_file = s.key\n",
                {{"SES_TLS__CERT_FILE", ""}, {"SES_TLS__KEY_FILE", ""}, {"SES_SERVER__INSECURE", "true"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->tls.enabled());
  auto off = Load(kKeyring, {{"SES_TELEMETRY__LISTEN", ""}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->telemetry.listen.has_value());
}

TEST_F(EnvOverrideTest, PluginKeysKeepTheFilesSpelling) {
  auto c = Load("[cipher]\nsome-key = 1\n", {{"SES_CIPHER__SOME_KEY", "2"}, {"SES_CIPHER__PROPERTIES", "fips=yes"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cipher.settings, (PluginConfig{{"some-key", "2"}, {"properties", "fips=yes"}}));
  ExpectError("[provider.keyfile]\n", {{"SES_PROVIDER_KEYFILE__PLUGIN", "x"}},
              "environment SES_PROVIDER_KEYFILE__PLUGIN: [provider.NAME] is named after its plugin; remove 'plugin'");
}

TEST_F(EnvOverrideTest, SectionsWhoseNamesCollideAreRefused) {
  const std::string text = "[keyring.a-b]\nkey = keyfile://a.key\n[keyring.a_b]\nkey = keyfile://b.key\n";
  EXPECT_TRUE(Load(text).ok());
  ExpectError(text, {{"SES_KEYRING_A_B__MODE", "all"}},
              "environment SES_KEYRING_A_B__MODE: matches both [keyring.a-b] and [keyring.a_b]; rename one of the "
              "sections");
}

TEST_F(EnvOverrideTest, OtherVariablesAreNotOverrides) {
  auto c = Load(kKeyring, {{"SES_PLUGIN_DIR", "/nowhere"},
                           {"SES_CONFIG", "/x.conf"},
                           {"SES_TEST_HSM_PIN", "1234"},
                           {"OTHER__THING", "1"},
                           {"ses_server__listen", "x"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->plugin_dirs.empty());
}

TEST_F(EnvOverrideTest, OversizedValuesAreRefused) {
  ExpectError(kKeyring, {{"SES_STORE__DSN", std::string(64 * 1024 + 1, 'x')}},
              "environment SES_STORE__DSN: value is longer than 65536 bytes");
}

// The one-argument LoadConfig reads the process environment.
TEST_F(EnvOverrideTest, TheProcessEnvironmentIsReadByDefault) {
  ASSERT_EQ(::setenv("SES_LOG__LEVEL", "debug", 1), 0);
  ASSERT_EQ(::setenv("SES_CONFIG_TEST_MARKER", "1", 1), 0);
  Environment env = CurrentEnvironment();
  auto c = LoadConfig(Write(kKeyring));
  ::unsetenv("SES_LOG__LEVEL");
  ::unsetenv("SES_CONFIG_TEST_MARKER");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->log.level, LogLevel::kDebug);
  EXPECT_EQ(env.at("SES_CONFIG_TEST_MARKER"), "1");
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("SES_", 0), 0u) << name;
}

}  // namespace
}  // namespace ses::testing
