// Client: the C++ client of sesd's data plane (proto/ses/v1/crypto.proto),
// speaking SES types: Status codes, EncryptionContext, SecretBytes.
//
// One Client holds one gRPC channel, made at Connect and reused by every call
// (the connection itself is opened lazily by the first call and re-opened by
// gRPC after a failure). Errors keep the server's status code and message;
// transport failures (UNAVAILABLE, DEADLINE_EXCEEDED) also name the server.
// Every unary call has the deadline ClientOptions::timeout. Streams last as
// long as their data, so they have no deadline; instead one that makes no
// progress for ClientOptions::stream_idle_timeout is cancelled.
//
// Data keys arrive in SecretBytes and are never logged. The protobuf message
// fields this library fills or reads that hold data keys (GenerateDataKey
// and DecryptDataKey responses) or plaintext (Encrypt, BatchEncrypt and
// EncryptStream requests; Decrypt, BatchDecrypt and DecryptStream responses)
// are wiped with OPENSSL_cleanse once their bytes are copied out or sent. gRPC's own serialization and transport
// buffers are outside this library's reach and are not wiped, and the
// plaintext returned to the caller is the caller's to wipe.
//
// Thread safety: a Client may be used from many threads at once. Callbacks
// passed to the stream calls are never run concurrently with themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ses/engine.h"
#include "ses/envelope.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::client {

struct ClientOptions {
  std::string server;  // HOST:PORT; [IPv6]:PORT
  // TLS: ca_file verifies the server (empty: the system's roots); cert_file
  // and key_file, given together, are the client's identity for mTLS.
  std::string ca_file, cert_file, key_file;
  bool insecure = false;  // plaintext HTTP/2: tests and local benches only
  std::chrono::milliseconds timeout{30000};  // per unary call
  // A stream is cancelled with kDeadlineExceeded ("sesd at HOST:PORT sent
  // nothing for 60 s") once, for this long, no response has arrived and no
  // write has completed while the stream was waiting on the server. Time
  // spent in the caller's source or sink does not count.
  std::chrono::milliseconds stream_idle_timeout{60000};
};

// Checks what can be checked without the network: the server is HOST:PORT,
// the TLS settings are consistent, each named file is readable and both
// timeouts are positive. Returns kInvalidArgument naming the option, or
// kNotFound naming the file.
Status ValidateClientOptions(const ClientOptions& options);

// GenerateDataKey returns ses::DataKeyGrant (ses/engine.h), the type the
// engine uses offline: the data key in SecretBytes and its encrypted form (a
// message header with no body), safe to store, which DecryptDataKey opens.
using ses::DataKeyGrant;

// Batch items are views: the bytes must stay alive for the call.
struct BatchEncryptItem {
  std::span<const uint8_t> plaintext;
  EncryptionContext context;
};
struct BatchDecryptItem {
  std::span<const uint8_t> ciphertext;
  EncryptionContext context;
};
// One result per item, in order; a failed item does not fail the others.
using BatchResults = std::vector<StatusOr<std::vector<uint8_t>>>;

// Reads up to buf.size() bytes into buf; returns how many, 0 at the end.
using ByteSource = std::function<StatusOr<size_t>(std::span<uint8_t> buf)>;
// Receives output bytes; a non-OK status cancels the call.
using ByteSink = Sink;

// Bytes per stream message sent: one is in flight at a time, so a stream's
// memory stays bounded whatever the input size.
inline constexpr size_t kStreamChunkSize = 64 * 1024;

class Client {
 public:
  // Validates the options and makes the channel (does not wait for it).
  static StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  StatusOr<std::vector<uint8_t>> Encrypt(std::string_view keyring, const EncryptionContext& context,
                                         std::span<const uint8_t> plaintext);
  // `context` must equal the one the message was sealed with.
  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext, const EncryptionContext& context);
  // Rewraps the data key under `keyring`. Only the header travels: the body
  // is copied locally, so a message of any size costs one small call.
  StatusOr<std::vector<uint8_t>> ReEncrypt(std::span<const uint8_t> ciphertext, const EncryptionContext& context,
                                           std::string_view keyring);

  StatusOr<DataKeyGrant> GenerateDataKey(std::string_view keyring, const EncryptionContext& context);
  // `encrypted_key`: a DataKeyGrant::encrypted_key or the start of a message
  // (at least its whole header).
  StatusOr<SecretBytes> DecryptDataKey(std::span<const uint8_t> encrypted_key, const EncryptionContext& context);

  StatusOr<BatchResults> BatchEncrypt(std::string_view keyring, std::span<const BatchEncryptItem> items);
  StatusOr<BatchResults> BatchDecrypt(std::span<const BatchDecryptItem> items);

  // Streams `source` through the server into `sink`. `source` runs on a
  // helper thread, `sink` on the calling thread. Returns the first failure
  // of the source, the sink or the call (kDeadlineExceeded after
  // ClientOptions::stream_idle_timeout without progress). A decrypt stream that fails may
  // already have passed authenticated frames to `sink`: discard them.
  Status EncryptStream(std::string_view keyring, const EncryptionContext& context, const ByteSource& source,
                       const ByteSink& sink);
  Status DecryptStream(const EncryptionContext& context, const ByteSource& source, const ByteSink& sink);

  // Diagnostics/Echo: the transport alone, no crypto.
  StatusOr<std::vector<uint8_t>> Echo(std::span<const uint8_t> payload);

  const ClientOptions& options() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ses::client
