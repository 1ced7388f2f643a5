#include "server/dev_mode.h"

#include <string>
#include <system_error>

#include "ses/registry.h"
#include "tls/dev_pki.h"
#include "tls/pem_file.h"

namespace ses::daemon {
namespace {

namespace fs = std::filesystem;

std::string DevConfig(const fs::path& dir) {
  const std::string key_uri = "keyfile://" + (dir / "master.key").string();
  return "# Written once by `sesd --dev` for local development; edit freely, it is\n"
         "# never overwritten. Not for production: the master key is a local file.\n"
         "[server]\n"
         "listen = 127.0.0.1:7443\n"
         "\n"
         "[tls]\n"
         "cert_file = tls/server.pem\n"
         "key_file = tls/server-key.pem\n"
         "client_ca_file = tls/ca.pem\n"
         "\n"
         "[telemetry]\n"
         "listen = 127.0.0.1:9464\n"
         "\n"
         "[store]\n"
         "plugin = store-sqlite\n"
         "path = store.db\n"
         "\n"
         "[keyring." + std::string(kDevKeyring) + "]\n"
         "key = " + key_uri + "\n";
}

}  // namespace

StatusOr<fs::path> PrepareDevDir(const fs::path& dir_in) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec);
  if (ec) return Status(StatusCode::kInvalidArgument, "bad --dir " + dir_in.string() + ": " + ec.message());
  // Owner-only: the store and the master key live here.
  if (fs::create_directories(dir, ec) && !ec) fs::permissions(dir, fs::perms::owner_all, ec);
  if (ec) return Status(StatusCode::kUnavailable, "cannot create " + dir.string() + ": " + ec.message());

  tls::DevPkiPaths pki;
  if (Status s = tls::EnsureDevPki(dir, &pki); !s.ok()) return s;

  const fs::path key = dir / "master.key";
  if (!fs::exists(key)) {
    Registry registry;
    for (const auto& plugin_dir : Registry::DefaultDirectories()) {
      if (Status s = registry.LoadDirectory(plugin_dir); !s.ok()) return s;
    }
    auto keyfile = registry.NewKeyProvider("keyfile", {});
    if (!keyfile.ok()) return keyfile.status();
    auto created = (*keyfile)->CreateKey("keyfile://" + key.string());
    if (!created.ok()) return created.status();
  }

  const fs::path config = dir / "sesd.conf";
  if (!fs::exists(config)) {
    if (Status s = tls::internal::WriteFileAtomically(config, DevConfig(dir), 0644); !s.ok()) return s;
  }
  return config;
}

}  // namespace ses::daemon
