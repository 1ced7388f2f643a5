#include "server/sesd.h"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "server/call_reporter.h"
#include "server/dev_mode.h"
#include "server/grpc_server.h"
#include "server/instrumented_provider.h"
#include "server/key_sync.h"
#include "server/log.h"
#include "server/periodic.h"
#include "server/readiness.h"
#include "config/values.h"
#include "ses/config.h"
#include "telemetry/sesd_metrics.h"
#include "telemetry/telemetry.h"
#include "tls/credentials.h"
#include "tls/pem_file.h"

namespace ses::daemon {
namespace {

namespace fs = std::filesystem;

int StartupFailure(const Status& status) {
  Log(LogLevel::kError, "start-up failed", {{"error", status.ToString()}});
  std::cerr << "sesd: " << status.message() << "\n";
  return 1;
}

// `text` and a newline, written atomically (a reader never sees half of it).
Status WriteEndpoint(const fs::path& path, const std::string& text) {
  return tls::internal::WriteFileAtomically(path, text + "\n", 0644);
}

StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const Config& config, bool insecure_flag,
                                                               std::unique_ptr<tls::ServerTls>& tls) {
  if (config.server.insecure || insecure_flag) {
    // Plaintext needs both the config and the flag, so neither a stray flag
    // nor an edited file alone turns TLS off; and only on loopback.
    if (!config.server.insecure || !insecure_flag) {
      return Status(StatusCode::kFailedPrecondition,
                    insecure_flag ? config.path + ": --insecure also needs [server] insecure = true (and no [tls])"
                                  : config.Where("server", "insecure") +
                                        ": insecure = true also needs --insecure on the command line");
    }
    const std::string& host = config.server.listen.host;
    if (host != "127.0.0.1" && host != "::1" && host != "localhost") {
      return Status(StatusCode::kFailedPrecondition,
                    "plaintext listening is allowed on loopback only (127.0.0.1, ::1, localhost), not " + host);
    }
    Log(LogLevel::kWarn, "listening WITHOUT TLS (--insecure): traffic and keys cross the network in clear");
    return grpc::InsecureServerCredentials();
  }
  if (!config.tls.enabled()) {
    return Status(StatusCode::kFailedPrecondition,
                  config.path + ": [tls] cert_file and key_file are required (or run with --insecure, or --dev)");
  }
  tls::TlsFiles files;
  files.cert_file = config.tls.cert_file;
  files.key_file = config.tls.key_file;
  files.client_ca_file = config.tls.client_ca_file;
  files.min_version = config.tls.min_version == TlsVersion::kTls13 ? "1.3" : "1.2";
  auto created = tls::ServerTls::Create(files);
  if (!created.ok()) return created.status().WithContext(config.Where("tls", "cert_file") + ": [tls]");
  tls = std::move(*created);
  return tls->credentials();
}

}  // namespace

int RunSesd(const SesdFlags& flags, SignalWaiter& signals) {
  InitLogging(LogFormat::kText, LogLevel::kInfo);
  fs::path config_path = flags.config;
  if (flags.dev) {
    auto prepared = PrepareDevDir(flags.dev_dir);
    if (!prepared.ok()) return StartupFailure(prepared.status());
    config_path = *prepared;
  }
  auto loaded = LoadConfig(config_path);
  if (!loaded.ok()) return StartupFailure(loaded.status());
  Config config = std::move(*loaded);
  if (!flags.listen.empty()) {
    // The config's own HOST:PORT rules, with errors naming the flag.
    internal::Setting listen{"server", "listen", flags.listen, {"--listen", 0, ""}};
    if (Status s = internal::ParseListen(listen, config.server.listen); !s.ok()) return StartupFailure(s);
  }
  InitLogging(config.log.format, config.log.level);

  telemetry::MetricRegistry registry;
  telemetry::SesdMetrics metrics(registry, SES_VERSION);
  auto runtime = OpenRuntime(config, [&metrics](const std::string& name, std::shared_ptr<KeyProvider> p) {
    return Instrument(name, std::move(p), metrics);
  });
  if (!runtime.ok()) return StartupFailure(runtime.status());
  Engine& engine = *runtime->engine;
  metrics.SetDataKeyCacheSource([&engine] {
    const CacheStats s = engine.cache_stats();
    return telemetry::CacheCounts{s.hits, s.misses, s.evictions};
  });

  auto store = OpenStore(config, *runtime->registry);
  if (!store.ok()) return StartupFailure(store.status());
  KeySync key_sync(*store, engine);
  if (Status s = key_sync.Publish(); !s.ok()) return StartupFailure(s.WithContext("store"));

  std::vector<std::string> keyring_names;
  for (const auto& k : engine.keyrings()) keyring_names.push_back(k.name);
  CallReporter reporter(metrics, keyring_names);

  std::unique_ptr<tls::ServerTls> tls;
  auto credentials = Credentials(config, flags.insecure, tls);
  if (!credentials.ok()) return StartupFailure(credentials.status());

  GrpcServerOptions server_options;
  server_options.listen = config.server.listen.ToString();
  server_options.limits.max_message_bytes = config.server.max_message_bytes;
  server_options.limits.max_batch_items = config.server.max_batch_items;
  server_options.limits.default_deadline = config.server.default_deadline;
  server_options.max_concurrent_streams = static_cast<int>(config.server.max_concurrent_streams);
  server_options.workers = static_cast<int>(config.server.workers);
  GrpcServer server(engine, reporter, server_options);
  if (Status s = server.Start(*credentials); !s.ok()) return StartupFailure(s);

  ReadinessProbe probe(runtime->providers, *store, std::chrono::seconds(1), [&](bool ready) {
    metrics.ready().Set(ready ? 1 : 0);
    server.SetServing(ready);
  });
  probe.Start();

  std::unique_ptr<telemetry::Telemetry> telemetry_server;
  std::string metrics_url = "(telemetry off)";
  std::string telemetry_address;
  if (config.telemetry.listen) {
    telemetry::TelemetryOptions options;
    options.http.address = config.telemetry.listen->host;
    options.http.port = config.telemetry.listen->port;
    options.readiness_cache = std::chrono::seconds(0);  // the probe thread already paces checks
    telemetry_server = std::make_unique<telemetry::Telemetry>(registry, options);
    telemetry_server->SetReadiness([&probe] { return probe.Last(); });
    if (Status s = telemetry_server->Start(); !s.ok()) return StartupFailure(s.WithContext("[telemetry] listen"));
    telemetry_address = ListenAddress{config.telemetry.listen->host, telemetry_server->port()}.ToString();
    metrics_url = "http://" + telemetry_address + "/metrics";
  }

  const std::string endpoint = server.bound_address();
  if (!flags.port_file.empty()) {
    std::string ports = "grpc=" + endpoint;
    if (telemetry_server) ports += "\ntelemetry=" + telemetry_address;
    if (Status s = WriteEndpoint(flags.port_file, ports); !s.ok()) return StartupFailure(s);
  }
  if (flags.dev) {
    const fs::path dir = fs::absolute(flags.dev_dir).lexically_normal();
    if (Status s = WriteEndpoint(dir / "endpoint", endpoint); !s.ok()) return StartupFailure(s);
    // The sesctl beside this sesd (build tree or install), so the line can be pasted as it is.
    std::error_code ec;
    fs::path sesctl = fs::read_symlink("/proc/self/exe", ec).parent_path() / "sesctl";
    const std::string cli = !ec && fs::exists(sesctl) ? sesctl.string() : "sesctl";
    std::cout << "sesd (development mode) is serving " << endpoint << " with TLS; files in " << dir.string()
              << "\n  try:     echo hello | " << cli << " --dev " << dir.string() << " encrypt --keyring "
              << kDevKeyring << " | " << cli << " --dev " << dir.string() << " decrypt\n  metrics: " << metrics_url
              << "\n"
              << std::flush;
  }
  Log(LogLevel::kInfo, "serving",
      {{"address", endpoint},
       {"tls", tls ? (tls->mutual_tls() ? "mtls" : "tls") : "off"},
       {"metrics", metrics_url},
       {"keyrings", std::to_string(keyring_names.size())}});

  Periodic key_poll(std::chrono::duration_cast<std::chrono::milliseconds>(config.store.poll_interval), [&] {
    if (auto polled = key_sync.Poll(); !polled.ok()) {
      Log(LogLevel::kWarn, "key version poll failed", {{"error", polled.status().ToString()}});
    }
  });
  key_poll.Start();
  for (;;) {
    auto sig = signals.Wait(std::chrono::seconds(60));
    if (sig == SIGHUP) {
      if (!tls) {
        Log(LogLevel::kInfo, "SIGHUP: nothing to reload (no TLS)");
      } else if (Status s = tls->Reload(); s.ok()) {
        Log(LogLevel::kInfo, "TLS files reloaded", {{"certificate", tls->served_certificate()}});
      } else {
        Log(LogLevel::kError, "TLS reload refused; still serving the previous certificate",
            {{"error", s.ToString()}});
      }
      continue;
    }
    if (sig) break;  // SIGTERM or SIGINT
  }

  const auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(config.server.grace_period);
  Log(LogLevel::kInfo, "draining: no new calls; calls in flight get the grace period",
      {{"grace_ms", std::to_string(grace.count())}});
  // Not ready from here on (/readyz 503 "draining", ses_ready 0, gRPC health
  // NOT_SERVING), so load balancers stop sending calls that would be refused.
  probe.Stop();
  probe.SetDraining();
  key_poll.Stop();
  server.Shutdown(grace);
  server.Wait();
  if (telemetry_server) telemetry_server->Stop();
  metrics.SetDataKeyCacheSource(nullptr);
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace ses::daemon
