// Development PKI for `sesd --dev`: a local CA, a server certificate for
// localhost and a client certificate for sesctl, created once in DIR/tls/ so
// one command gives a working TLS (and mTLS) server on this machine.
//
// Not for production: the CA key sits beside the certificates (kept so more
// client certificates can be issued later), and nothing rotates them.
//
// Thread safety: safe to call concurrently, even from two processes: each
// builds a set aside, the first rename wins and the others reuse its files.
#pragma once

#include <filesystem>

#include "ses/status.h"

namespace ses::tls {

struct DevPkiPaths {
  std::filesystem::path dir;          // DIR/tls
  std::filesystem::path ca_cert;      // ca.pem          (0644)
  std::filesystem::path ca_key;       // ca-key.pem      (0600)
  std::filesystem::path server_cert;  // server.pem      (0644)
  std::filesystem::path server_key;   // server-key.pem  (0600)
  std::filesystem::path client_cert;  // client.pem      (0644)
  std::filesystem::path client_key;   // client-key.pem  (0600)
  bool created = false;               // true if this call generated them
};

// Makes sure DIR/tls/ holds the dev PKI and fills `out` with its paths.
// - None of the six files present: generates them all (EC P-256; CA 10 years
//   with CA:TRUE and keyCertSign; server 1 year, CN and SAN DNS:localhost,
//   IP:127.0.0.1, IP:::1, serverAuth; client 1 year, CN "sesctl-dev",
//   clientAuth; random 128-bit serials). They are written into a staging
//   directory (each file via temp file + fsync + rename; keys 0600, certs
//   0644) that is renamed to DIR/tls in one step, so a crash never leaves
//   half a set. DIR/tls is 0700.
// - All present: reuses them after checking that each parses, each key
//   matches its certificate, the leaf certificates chain to ca.pem and are
//   within their validity period, and no key file is readable by group or
//   others. Nothing is rewritten.
// - Some present, or a check fails: kFailedPrecondition naming the file and
//   saying to delete DIR/tls to start over; nothing is overwritten.
Status EnsureDevPki(const std::filesystem::path& dir, DevPkiPaths* out);

}  // namespace ses::tls
