// sesd's sections in the file: defaults, every key, and one error per bad
// value naming FILE:LINE.
#include <gtest/gtest.h>

#include "config/values.h"
#include "config_fixture.h"

namespace ses::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using ServiceSectionsTest = ConfigTest;

TEST_F(ServiceSectionsTest, DefaultsApplyWhenSectionsAreAbsent) {
  auto c = Load("[keyring.main]\nkey = keyfile://a.key\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen.ToString(), "127.0.0.1:7443");
  EXPECT_EQ(c->server.workers, 0u);
  EXPECT_EQ(c->server.max_message_bytes, 4194304u);
  EXPECT_EQ(c->server.max_concurrent_streams, 100u);
  EXPECT_EQ(c->server.max_batch_items, 10000u);
  EXPECT_EQ(c->server.grace_period, seconds(20));
  EXPECT_FALSE(c->server.insecure);
  EXPECT_EQ(c->server.default_deadline, milliseconds(600000));
  EXPECT_FALSE(c->tls.enabled());
  EXPECT_FALSE(c->tls.mutual());
  EXPECT_TRUE(c->tls.key_file.empty());
  EXPECT_EQ(c->tls.min_version, TlsVersion::kTls12);
  ASSERT_TRUE(c->telemetry.listen.has_value());
  EXPECT_EQ(c->telemetry.listen->ToString(), "127.0.0.1:9464");
  EXPECT_EQ(c->log.format, LogFormat::kText);
  EXPECT_EQ(c->log.level, LogLevel::kInfo);
  EXPECT_EQ(c->store.plugin.name, "store-sqlite");
  EXPECT_TRUE(c->store.plugin.settings.empty());
  EXPECT_EQ(c->store.poll_interval, seconds(5));
  EXPECT_EQ(c->Where("server", "listen"), path());
  EXPECT_EQ(c->Where("keyring.main", "key"), path() + ":2");
}

TEST_F(ServiceSectionsTest, EveryServerKeyIsRead) {
  auto c = Load(
      "[server]\n"
      "listen = 0.0.0.0:8443\n"
      "workers = 8\n"
      "max_message_bytes = 1024\n"
      "max_concurrent_streams = 250\n"
      "max_batch_items = 500\n"
      "grace_period_seconds = 0\n"
      "insecure = true\n"
      "default_deadline_ms = 1500\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen, (ListenAddress{"0.0.0.0", 8443}));
  EXPECT_EQ(c->server.workers, 8u);
  EXPECT_EQ(c->server.max_message_bytes, 1024u);
  EXPECT_EQ(c->server.max_concurrent_streams, 250u);
  EXPECT_EQ(c->server.max_batch_items, 500u);
  EXPECT_EQ(c->server.grace_period, seconds(0));
  EXPECT_TRUE(c->server.insecure);
  EXPECT_EQ(c->server.default_deadline, milliseconds(1500));
  EXPECT_EQ(c->Where("server", "workers"), path() + ":3");
}

TEST_F(ServiceSectionsTest, ListenTakesNamesIpv4AndBracketedIpv6) {
  struct Case {
    std::string value, host;
    uint16_t port;
    std::string shown;
  };
  for (const Case& k : {Case{"[::1]:7443", "::1", 7443, "[::1]:7443"},
                        Case{"[::]:1", "::", 1, "[::]:1"},
                        Case{"localhost:65535", "localhost", 65535, "localhost:65535"},
                        Case{"ses.example.internal:443", "ses.example.internal", 443, "ses.example.internal:443"},
                        Case{"10.1.2.3:80", "10.1.2.3", 80, "10.1.2.3:80"}}) {
    SCOPED_TRACE(k.value);
    auto c = Load("[server]\nlisten = " + k.value + "\n");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->server.listen.host, k.host);
    EXPECT_EQ(c->server.listen.port, k.port);
    EXPECT_EQ(c->server.listen.ToString(), k.shown);
  }
}

TEST_F(ServiceSectionsTest, BadListenAddressesNameTheLineAndTheProblem) {
  const std::pair<std::string, std::string> cases[] = {
      {"127.0.0.1:65536", "port must be 0-65535 (0: any free port)"},
      {"127.0.0.1:80x", "port must be 0-65535 (0: any free port)"},
      {"127.0.0.1:", "port must be 0-65535 (0: any free port)"},
      {"127.0.0.1", "expected HOST:PORT, e.g. 127.0.0.1:7443"},
      {"::1:7443", "an IPv6 address needs brackets, e.g. [::1]:7443"},
      {"[::1]7443", "expected [IPV6]:PORT, e.g. [::1]:7443"},
      {"[::1", "expected [IPV6]:PORT, e.g. [::1]:7443"},
      {"[not-v6]:7443", "not an IPv6 address in brackets"},
      {":7443", "missing host (0.0.0.0 listens on every IPv4 address)"},
      {"300.1.1.1:80", "not an IPv4 address"},
      {"bad_host!:80", "not a host name or address"},
      {"a..b:80", "not a host name or address"},
  };
  for (const auto& [value, why] : cases) {
    SCOPED_TRACE(value);
    ExpectError("# sesd\n[server]\nlisten = " + value + "\n", {}, "3: bad value '" + value + "' for listen: " + why);
    ExpectError("[telemetry]\nlisten = " + value + "\n", {}, "2: bad value '" + value + "' for listen: " + why);
  }
}

TEST_F(ServiceSectionsTest, NumbersOutsideTheirRangesAreRefused) {
  struct Case {
    std::string key, good_low, good_high, bad;
    std::string range;
  };
  const Case cases[] = {
      {"workers", "0", "1024", "1025", "0 to 1024"},
      {"max_message_bytes", "1024", "67108864", "1023", "1024 to 67108864"},
      {"max_message_bytes", "1024", "67108864", "67108865", "1024 to 67108864"},
      {"max_concurrent_streams", "1", "100000", "0", "1 to 100000"},
      {"max_batch_items", "1", "1000000", "0", "1 to 1000000"},
      {"grace_period_seconds", "0", "3600", "3601", "0 to 3600"},
      {"default_deadline_ms", "0", "86400000", "86400001", "0 to 86400000"},
      {"workers", "0", "1024", "-1", "0 to 1024"},
      {"workers", "0", "1024", "+1", "0 to 1024"},
      {"max_message_bytes", "1024", "67108864", "4MiB", "1024 to 67108864"},
      {"max_batch_items", "1", "1000000", "", "1 to 1000000"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.key + " = " + k.bad);
    for (const std::string& good : {k.good_low, k.good_high}) {
      auto c = Load("[server]\n" + k.key + " = " + good + "\n");
      EXPECT_TRUE(c.ok()) << c.status().ToString();
    }
    ExpectError("[server]\n" + k.key + " = " + k.bad + "\n", {},
                "2: bad value '" + k.bad + "' for " + k.key + ": expected an integer from " + k.range);
  }
}

TEST_F(ServiceSectionsTest, BoolsAreTrueOrFalseOnly) {
  for (const std::string bad : {"yes", "1", "TRUE", "on", ""}) {
    SCOPED_TRACE(bad);
    ExpectError("[server]\ninsecure = " + bad + "\n", {}, "2: bad value '" + bad + "' for insecure: expected true or false");
  }
  auto c = Load("[server]\ninsecure = false\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->server.insecure);
}

TEST_F(ServiceSectionsTest, EnumerationsListTheirValues) {
  ExpectError("[log]\nformat = xml\n", {}, "2: bad value 'xml' for format: expected text or json");
  ExpectError("[log]\nlevel = verbose\n", {},
              "2: bad value 'verbose' for level: expected trace, debug, info, warn or error");
  ExpectError("[tls]\nmin_version = 1.1\n", {}, "2: bad value '1.1' for min_version: expected 1.2 or 1.3");

  auto c = Load("[log]\nformat = json\nlevel = trace\n[tls]\nmin_version = 1.3\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->log.format, LogFormat::kJson);
  EXPECT_EQ(c->log.level, LogLevel::kTrace);
  EXPECT_EQ(c->tls.min_version, TlsVersion::kTls13);
  for (auto [name, level] : {std::pair{"debug", LogLevel::kDebug}, std::pair{"info", LogLevel::kInfo},
                             std::pair{"warn", LogLevel::kWarn}, std::pair{"error", LogLevel::kError}}) {
    auto d = Load(std::string("[log]\nlevel = ") + name + "\n");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->log.level, level) << name;
  }
}

TEST_F(ServiceSectionsTest, UnknownAndRepeatedKeysAreRefused) {
  ExpectError("[server]\nlistn = 127.0.0.1:1\n", {}, "2: unknown key 'listn' in [server]");
  ExpectError("[tls]\ncert = a.pem\n", {}, "2: unknown key 'cert' in [tls]");
  ExpectError("[telemetry]\nport = 9464\n", {}, "2: unknown key 'port' in [telemetry]");
  ExpectError("[log]\nfile = x\n", {}, "2: unknown key 'file' in [log]");
  ExpectError("[server]\nworkers = 1\nworkers = 2\n", {}, "3: 'workers' is set twice in [server]");
  ExpectError("[server]\n[logs]\n", {}, "2: unknown section [logs]");
}

TEST_F(ServiceSectionsTest, TlsPathsResolveAgainstTheConfigDirectory) {
  auto c = Load("[tls]\ncert_file = certs/server.pem\nkey_file = /etc/ses/server.key\nclient_ca_file = ca.pem\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tls.cert_file, dir().path() / "certs/server.pem");
  EXPECT_EQ(c->tls.key_file, std::filesystem::path("/etc/ses/server.key"));
  EXPECT_EQ(c->tls.client_ca_file, dir().path() / "ca.pem");
  EXPECT_TRUE(c->tls.enabled());
  EXPECT_TRUE(c->tls.mutual());
}

TEST_F(ServiceSectionsTest, TlsKeysThatNeedEachOtherAreChecked) {
  ExpectError("[tls]\nmin_version = 1.3\ncert_file = s.pem\n", {},
              "3: [tls] cert_file is set but key_file is not: give both or neither");
  ExpectError("[tls]\nkey_file = s.key\n", {}, "2: [tls] key_file is set but cert_file is not: give both or neither");
  ExpectError("[tls]\nclient_ca_file = ca.pem\n", {},
              "2: [tls] client_ca_file needs cert_file and key_file: client certificates are checked over TLS");
  ExpectError("[server]\ninsecure = true\n[tls]\ncert_file = s.pem\nkey_file = s.key\n", {},
              "2: [server] insecure = true (plaintext) contradicts [tls] cert_file; remove one of them");
  // An empty value unsets: plaintext with --insecure needs no files.
  auto c = Load("[server]\ninsecure = true\n[tls]\ncert_file =\nkey_file =\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->tls.enabled());
}

TEST_F(ServiceSectionsTest, TelemetryCanBeTurnedOffButNotShareTheServerAddress) {
  auto c = Load("[telemetry]\nlisten =\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->telemetry.listen.has_value());

  auto v6 = Load("[telemetry]\nlisten = [::1]:9100\n");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->telemetry.listen->ToString(), "[::1]:9100");

  ExpectError("[server]\nlisten = 127.0.0.1:9000\n[telemetry]\nlisten = 127.0.0.1:9000\n", {},
              "4: [telemetry] listen and [server] listen are the same address; each needs its own");
}

TEST_F(ServiceSectionsTest, StoreKeysGoToThePluginButPollSecondsStays) {
  auto c = Load("[store]\nplugin = store-postgres\ndsn = host=db dbname=ses\npassword_file = db.pass\n"
                "poll_seconds = 30\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->store.plugin.name, "store-postgres");
  EXPECT_EQ(c->store.plugin.settings,
            (PluginConfig{{"dsn", "host=db dbname=ses"}, {"password_file", "db.pass"}}));
  EXPECT_EQ(c->store.plugin.line, 1);
  EXPECT_EQ(c->store.plugin.key_lines.at("dsn"), 3);
  EXPECT_EQ(c->store.poll_interval, seconds(30));

  auto sqlite = Load("[store]\npath = data/ses.db\n");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  EXPECT_EQ(sqlite->store.plugin.settings.at("path"), (dir().path() / "data/ses.db").string());
  for (const std::string kept : {"/var/lib/ses/ses.db", ":memory:", "file:x.db?mode=ro"}) {
    auto k = Load("[store]\npath = " + kept + "\n");
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_EQ(k->store.plugin.settings.at("path"), kept);
  }

  ExpectError("[store]\npoll_seconds = 0\n", {}, "2: bad value '0' for poll_seconds: expected an integer from 1 to 3600");
  ExpectError("[store]\npoll_seconds = 3601\n", {},
              "2: bad value '3601' for poll_seconds: expected an integer from 1 to 3600");
  ExpectError("[store]\nplugin = ../evil\n", {},
              "2: bad value '../evil' for plugin: expected a plugin name (1-64 of A-Z a-z 0-9 - _)");
}

TEST_F(ServiceSectionsTest, SecretsInPluginSectionsAreRefusedWithoutTheirValue) {
  const std::string marker = "hunter2-314159";
  for (const std::string& text :
       {"[store]\npassword = " + marker + "\n", "[provider.pkcs11]\npin = " + marker + "\n",
        "[provider.pkcs11]\nuser-pin = " + marker + "\n", "[cipher]\napi_key = " + marker + "\n",
        "[provider.kms]\nclient_secret = " + marker + "\n", "[provider.kms]\naccess_token = " + marker + "\n",
        "[provider.kms]\nsecret_access_key = " + marker + "\n"}) {
    SCOPED_TRACE(text);
    auto c = Load(text);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(path() + ":2: '"), std::string::npos) << c.status().message();
    EXPECT_NE(c.status().message().find("secrets come only from the environment or files"), std::string::npos);
    EXPECT_EQ(c.status().message().find(marker), std::string::npos) << c.status().message();
  }
  // Indirections, and names that merely contain a secret word, are fine.
  auto c = Load("[provider.pkcs11]\npin_env = HSM_PIN\npin_file = /run/hsm.pin\n[provider.kms]\ntoken_url = x\n"
                "key_id = y\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST_F(ServiceSectionsTest, KeyUrisCarryingAPinAreRefusedWithoutThePin) {
  for (const std::string uri : {"pkcs11:token=t;object=o?pin-value=987654", "pkcs11:token=t;object=o?PIN%2Dvalue=987654"}) {
    auto c = Load("[keyring.hsm]\nkey = " + uri + "\n");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find(path() + ":2: a key URI may not hold a PIN (pin-value)"), std::string::npos)
        << c.status().message();
    EXPECT_EQ(c.status().message().find("987654"), std::string::npos);
  }
  auto ok = Load("[keyring.hsm]\nkey = pkcs11:token=t;object=o?pin-source=/run/user.pin\n");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST(BadValueTest, ShowsFileValuesButNeverSecretOrEnvironmentOnes) {
  using internal::BadValue;
  using internal::Origin;
  using internal::Setting;
  EXPECT_EQ(BadValue(Setting{"log", "level", "loud", Origin{"f.conf", 3, ""}}, "expected info").message(),
            "f.conf:3: bad value 'loud' for level: expected info");
  EXPECT_EQ(BadValue(Setting{"log", "level", "loud", Origin{"f.conf", 0, "SES_LOG__LEVEL"}}, "expected info").message(),
            "environment SES_LOG__LEVEL: bad value for level: expected info");
  for (const std::string key : {"key_file", "pin", "db_password", "client_secret", "token", "passphrase"}) {
    Status s = BadValue(Setting{"provider.x", key, "s3cr3t", Origin{"f.conf", 7, ""}}, "expected something");
    EXPECT_EQ(s.message(), "f.conf:7: bad value for " + key + ": expected something");
  }
}

TEST_F(ServiceSectionsTest, CacheEnabledKeepsItsOlderSpellings) {
  for (const std::string v : {"yes", "on", "1", "true"}) {
    auto c = Load("[cache]\nenabled = " + v + "\n");
    ASSERT_TRUE(c.ok()) << v;
    EXPECT_TRUE(c->cache.enabled);
  }
  ExpectError("[cache]\nenabled = maybe\n", {}, "2: bad value 'maybe' for enabled: expected true or false");
}

}  // namespace
}  // namespace ses::testing
