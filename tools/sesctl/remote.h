// sesctl's client mode: the global flags that name a server, and encrypt,
// decrypt and reencrypt through sesd (cmd_crypto.cc sends them here when a
// server is named).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "io.h"
#include "ses/client/client.h"

namespace ses::cli {

struct ServerFlags {
  std::string server;  // --server HOST:PORT
  std::string ca, cert, key;
  bool insecure = false;
  std::string dev;     // --dev DIR: DIR/endpoint and DIR/tls/ from `sesd --dev`
  bool config = false; // --config was given too
};

// The client options the flags name; nullopt when none is given (offline
// mode). Errors are usage errors naming the flag or file.
StatusOr<std::optional<client::ClientOptions>> ResolveServer(const ServerFlags& flags);

// Inputs up to this size go in one unary call; larger ones and pipes stream.
inline constexpr uint64_t kUnaryLimit = 1024 * 1024;

int RemoteEncrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx);
int RemoteDecrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx);
int RemoteReEncrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx);

// Reads a message header (its first Engine::HeaderSize bytes) from `in`.
StatusOr<std::vector<uint8_t>> ReadHeader(Input& in);

}  // namespace ses::cli
