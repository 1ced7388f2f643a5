// init: writes a working configuration with keyring 'default', checks it by
// sealing and opening a probe message, and only then puts it in place.
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "common.h"
#include "io.h"
#include "ses/engine.h"

namespace ses::cli {
namespace {

constexpr char kDefaultKeyName[] = "master.key";

std::string ConfigText(const std::filesystem::path& plugin_dir, const std::string& key_uri,
                       const std::string& keyfile_dir) {
  std::ostringstream c;
  c << "# SES configuration written by 'sesctl init'. Every key is described in docs/config.md.\n\n"
    << "[plugins]\n"
    << "# Where the plugin libraries (ses_*.so) are.\n"
    << "dir = " << plugin_dir.string() << "\n\n"
    << "[cipher]\n"
    << "plugin = cipher-openssl\n\n";
  if (!keyfile_dir.empty()) {
    c << "# Development provider: master keys in files. Not for production secrets.\n"
      << "[provider.keyfile]\n"
      << "dir = " << keyfile_dir << "\n\n";
  }
  c << "[keyring.default]\n"
    << "mode = any\n"
    << "key = " << key_uri << "\n"
    << "suite = aes-256-gcm\n"
    << "frame_size = 65536\n\n"
    << "[cache]\n"
    << "max_age = 300\n"
    << "max_messages = 1000000\n"
    << "max_entries = 1000\n";
  return c.str();
}

// Seals and opens a small message under the new config.
Status Probe(const std::string& config_path) {
  SES_ASSIGN_OR_RETURN(Config cfg, LoadConfig(config_path));
  SES_ASSIGN_OR_RETURN(Runtime rt, OpenRuntime(cfg));
  const EncryptionContext ctx{{"purpose", "sesctl init probe"}};
  const std::vector<uint8_t> probe = {'p', 'r', 'o', 'b', 'e'};
  SES_ASSIGN_OR_RETURN(auto sealed, rt.engine->Encrypt("default", ctx, probe));
  SES_ASSIGN_OR_RETURN(auto opened, rt.engine->Decrypt(sealed, ctx));
  if (opened != probe) return InternalError("probe message did not round-trip");
  return OkStatus();
}

}  // namespace

int RunInit(const Globals& g, const Args& args) {
  std::string dir, key_uri;
  po::options_description d("options");
  d.add_options()("key-uri", po::value(&key_uri), "use this existing master key instead of a new keyfile key");
  po::options_description all;
  all.add(d).add_options()("dir", po::value(&dir));
  po::positional_options_description pos;
  pos.add("dir", 1);
  int code = 0;
  if (!ParseArgs("init DIR", args, all, &pos, code)) return code;
  if (dir.empty()) return Usage("init: missing DIR");

  std::error_code ec;
  const bool dir_is_new = !std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("init", FailedPreconditionError("cannot create " + dir + ": " + ec.message()));
  const std::filesystem::path abs_dir = std::filesystem::canonical(dir, ec);
  const std::string config_path = (abs_dir / "ses.conf").string();
  if (std::filesystem::exists(config_path)) {
    return Fail("init", AlreadyExistsError(config_path + " already exists; remove it or pick another DIR"));
  }

  Config bare;
  bare.path = config_path;
  auto registry = LoadPlugins(bare);
  if (!registry.ok()) return Fail("init", registry.status());
  if ((*registry)->Plugins().empty()) {
    return Fail("init", FailedPreconditionError("no plugins (ses_*.so) were found; set SES_PLUGIN_DIR"));
  }
  std::filesystem::path plugin_dir =
      std::filesystem::absolute((*registry)->Plugins().front().path, ec).parent_path();

  std::string keyfile_dir;
  if (key_uri.empty()) {
    // A fresh keyfile master key under DIR; a directory made here is the
    // owner's alone (an existing one keeps its mode).
    if (dir_is_new) ::chmod(abs_dir.c_str(), 0700);
    keyfile_dir = abs_dir.string();
    key_uri = std::string("keyfile://") + kDefaultKeyName;
    auto provider = (*registry)->NewKeyProvider("keyfile", {{"dir", keyfile_dir}});
    if (!provider.ok()) return Fail("init", provider.status());
    auto made = (*provider)->CreateKey(key_uri);
    if (!made.ok()) return Fail("init", made.status());
  } else if (key_uri.find(':') == std::string::npos) {
    return Usage("init: bad --key-uri '" + key_uri + "': expected SCHEME:...");
  }

  // Written beside the target and renamed in only after the probe passes.
  const std::string staging = config_path + ".new";
  Status s = WriteFileAtomically(staging, ConfigText(plugin_dir, key_uri, keyfile_dir));
  if (s.ok()) s = Probe(staging);
  if (s.ok() && std::rename(staging.c_str(), config_path.c_str()) != 0) {
    s = FailedPreconditionError("cannot rename " + staging + " to " + config_path);
  }
  if (!s.ok()) {
    std::filesystem::remove(staging, ec);
    // A key made for a config that never worked protects nothing yet.
    if (!keyfile_dir.empty()) std::filesystem::remove(abs_dir / kDefaultKeyName, ec);
    return Fail("init", s.WithContext("the new configuration does not work"));
  }

  const std::string self = g.program.empty() ? "sesctl" : g.program;
  const std::string c = self + " --config " + config_path;
  // The URI's query may carry a PIN: show only the key's identity, quoted
  // for the shell (pkcs11 URIs hold ';').
  const std::string key_id = "'" + key_uri.substr(0, key_uri.find('?')) + "'";
  std::cout << "Wrote " << config_path << ": keyring 'default' on master key " << key_id << "\n"
            << "(checked: a probe message was sealed and opened with it).\n\n"
            << "Next, try:\n"
            << "  echo 'hello' | " << c << " encrypt --context app=demo --out " << (abs_dir / "hello.ses").string() << "\n"
            << "  " << c << " inspect --in " << (abs_dir / "hello.ses").string() << "\n"
            << "  " << c << " decrypt --context app=demo --in " << (abs_dir / "hello.ses").string() << "\n"
            << "  " << c << " keys rotate " << key_id << "\n"
            << "  " << c << " plugins\n";
  return 0;
}

}  // namespace ses::cli
