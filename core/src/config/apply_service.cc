// sesd's sections: [server], [tls], [telemetry], [log], [store]. Ranges here
// are documented in docs/config.md §4; keep the two in step.
#include "config/sections.h"

namespace ses::internal {

Status ConfigBuilder::ApplyServer(const Setting& s) {
  ServerConfig& c = cfg_.server;
  uint64_t n = 0;
  if (s.key == "listen") return ParseListen(s, c.listen);
  if (s.key == "workers") return ParseRange<unsigned>(s, 0, 1024, c.workers);
  if (s.key == "max_message_bytes") return ParseRange<uint64_t>(s, 1024, 64 * 1024 * 1024, c.max_message_bytes);
  if (s.key == "max_concurrent_streams") return ParseRange<uint32_t>(s, 1, 100000, c.max_concurrent_streams);
  if (s.key == "max_batch_items") return ParseRange<uint32_t>(s, 1, 1000000, c.max_batch_items);
  if (s.key == "insecure") return ParseBool(s, c.insecure);
  if (s.key == "grace_period_seconds") {
    SES_RETURN_IF_ERROR(ParseRange<uint64_t>(s, 0, 3600, n));
    c.grace_period = std::chrono::seconds(n);
    return OkStatus();
  }
  if (s.key == "default_deadline_ms") {
    SES_RETURN_IF_ERROR(ParseRange<uint64_t>(s, 0, 86'400'000, n));
    c.default_deadline = std::chrono::milliseconds(n);
    return OkStatus();
  }
  return Unknown(s);
}

Status ConfigBuilder::ApplyTls(const Setting& s) {
  TlsConfig& c = cfg_.tls;
  std::filesystem::path* file = s.key == "cert_file"        ? &c.cert_file
                                : s.key == "key_file"       ? &c.key_file
                                : s.key == "client_ca_file" ? &c.client_ca_file
                                                            : nullptr;
  if (file != nullptr) {
    // Empty unsets, so an override can turn a file's TLS setting off.
    *file = s.value.empty() ? std::filesystem::path() : ResolvePath(s);
    return OkStatus();
  }
  if (s.key == "min_version") {
    size_t i = 0;
    SES_RETURN_IF_ERROR(ParseEnum(s, {"1.2", "1.3"}, i));
    c.min_version = i == 0 ? TlsVersion::kTls12 : TlsVersion::kTls13;
    return OkStatus();
  }
  return Unknown(s);
}

Status ConfigBuilder::ApplyTelemetry(const Setting& s) {
  if (s.key != "listen") return Unknown(s);
  if (s.value.empty()) {
    cfg_.telemetry.listen.reset();
    return OkStatus();
  }
  ListenAddress a;
  SES_RETURN_IF_ERROR(ParseListen(s, a));
  cfg_.telemetry.listen = a;
  return OkStatus();
}

Status ConfigBuilder::ApplyLog(const Setting& s) {
  size_t i = 0;
  if (s.key == "format") {
    SES_RETURN_IF_ERROR(ParseEnum(s, {"text", "json"}, i));
    cfg_.log.format = static_cast<LogFormat>(i);
    return OkStatus();
  }
  if (s.key == "level") {
    SES_RETURN_IF_ERROR(ParseEnum(s, {"trace", "debug", "info", "warn", "error"}, i));
    cfg_.log.level = static_cast<LogLevel>(i);
    return OkStatus();
  }
  return Unknown(s);
}

Status ConfigBuilder::ApplyStore(const Setting& s) {
  StoreConfig& c = cfg_.store;
  c.plugin.line = lines_.SectionLine(s.section);
  if (s.key == "plugin") {
    if (!ValidName(s.value)) return BadValue(s, "expected a plugin name (1-64 of A-Z a-z 0-9 - _)");
    c.plugin.name = s.value;
    return OkStatus();
  }
  if (s.key == "poll_seconds") {
    uint64_t n = 0;
    SES_RETURN_IF_ERROR(ParseRange<uint64_t>(s, 1, 3600, n));
    c.poll_interval = std::chrono::seconds(n);
    return OkStatus();
  }
  if (s.key == "path" && !s.value.empty() && s.value[0] != ':' && s.value.rfind("file:", 0) != 0) {
    // The database file of a file-backed store: relative to the config
    // file like every path SES reads. ":memory:" and "file:" names are the
    // plugin's to judge.
    Setting resolved = s;
    resolved.value = ResolvePath(s).string();
    return ToPlugin(resolved, c.plugin);
  }
  return ToPlugin(s, c.plugin);
}

Status ConfigBuilder::FinishService() {
  auto at = [&](const std::string& full_key) {
    auto it = origins_.find(full_key);
    return it == origins_.end() ? Origin{cfg_.path, 0, ""} : it->second;
  };
  const TlsConfig& tls = cfg_.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    bool cert = !tls.cert_file.empty();
    return ErrorAt(at(cert ? "tls.cert_file" : "tls.key_file"),
                   std::string("[tls] ") + (cert ? "cert_file is set but key_file is not" :
                                                   "key_file is set but cert_file is not") +
                       ": give both or neither");
  }
  if (tls.mutual() && !tls.enabled()) {
    return ErrorAt(at("tls.client_ca_file"),
                   "[tls] client_ca_file needs cert_file and key_file: client certificates are checked over TLS");
  }
  if (cfg_.server.insecure && tls.enabled()) {
    return ErrorAt(at("server.insecure"),
                   "[server] insecure = true (plaintext) contradicts [tls] cert_file; remove one of them");
  }
  // Port 0 asks the kernel for a free port, so two listeners may both say it.
  if (cfg_.telemetry.listen && *cfg_.telemetry.listen == cfg_.server.listen && cfg_.server.listen.port != 0) {
    return ErrorAt(at(origins_.count("telemetry.listen") != 0 ? "telemetry.listen" : "server.listen"),
                   "[telemetry] listen and [server] listen are the same address; each needs its own");
  }
  return OkStatus();
}

}  // namespace ses::internal
