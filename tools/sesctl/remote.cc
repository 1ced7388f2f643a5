#include "remote.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ses/client/local_encryptor.h"
#include "ses/engine.h"

namespace ses::cli {
namespace {

// Local mode holds the whole message in memory (LocalEnvelope seals whole
// buffers); past this, streaming through the server is the way.
constexpr size_t kLocalLimit = 256 * 1024 * 1024;

// DIR/endpoint as `sesd --dev` writes it: one line HOST:PORT.
StatusOr<std::string> ReadEndpoint(const std::filesystem::path& dir) {
  const std::string path = (dir / "endpoint").string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return InvalidArgumentError("--dev " + dir.string() + ": no " + path + " (is 'sesd --dev --dir " +
                                  dir.string() + "' running?)");
    }
    return InvalidArgumentError("--dev " + dir.string() + ": cannot read " + path + ": " + std::strerror(err));
  }
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n < 0) return InvalidArgumentError("--dev: cannot read " + path);
  std::string text(buf, static_cast<size_t>(n));
  std::string line = text.substr(0, text.find('\n'));
  bool rest_blank = text.find_first_not_of(" \t\r\n", line.size()) == std::string::npos;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty() || !rest_blank || static_cast<size_t>(n) == sizeof(buf)) {
    return InvalidArgumentError("--dev: " + path + " should hold one line HOST:PORT");
  }
  // A wildcard listen address is reached on loopback, which the dev
  // certificate names.
  if (line.rfind("0.0.0.0:", 0) == 0) line = "127.0.0.1:" + line.substr(8);
  if (line.rfind("[::]:", 0) == 0) line = "[::1]:" + line.substr(5);
  return line;
}


Status CopyRest(Input& in, Output& out) {
  std::vector<uint8_t> buf(client::kStreamChunkSize);
  for (;;) {
    SES_ASSIGN_OR_RETURN(size_t n, in.Read(buf));
    if (n == 0) return OkStatus();
    SES_RETURN_IF_ERROR(out.Write(std::span<const uint8_t>(buf.data(), n)));
  }
}

// Opens the client and the files, runs `body`, and commits the output only
// if everything succeeded.
template <typename Body>
int WithFiles(const std::string& command, const client::ClientOptions& server, const CryptoArgs& a, Body&& body) {
  auto c = client::Client::Connect(server);
  if (!c.ok()) return Fail(command, c.status());
  auto in = Input::Open(a.in);
  if (!in.ok()) return Fail(command, in.status());
  auto out = Output::Open(a.out);
  if (!out.ok()) return Fail(command, out.status());
  Status s = body(**c, **in, **out);
  if (s.ok()) s = (*out)->Commit();
  return s.ok() ? 0 : Fail(command, s);
}

// Whole input in one unary call when it is a small regular file.
bool Unary(const Input& in) {
  auto size = in.RegularFileSize();
  return size.has_value() && *size <= kUnaryLimit;
}

}  // namespace

StatusOr<std::optional<client::ClientOptions>> ResolveServer(const ServerFlags& f) {
  const bool tls_flags = !f.ca.empty() || !f.cert.empty() || !f.key.empty();
  if (f.dev.empty() && f.server.empty()) {
    if (tls_flags || f.insecure) return InvalidArgumentError("--ca, --cert, --key and --insecure need --server");
    return std::optional<client::ClientOptions>();
  }
  if (f.config) return InvalidArgumentError("--config is for offline mode: it cannot be combined with --server or --dev");
  client::ClientOptions o;
  if (!f.dev.empty()) {
    if (!f.server.empty() || tls_flags || f.insecure) {
      return InvalidArgumentError("--dev cannot be combined with --server, --ca, --cert, --key or --insecure");
    }
    const std::filesystem::path dir(f.dev);
    SES_ASSIGN_OR_RETURN(o.server, ReadEndpoint(dir));
    o.ca_file = (dir / "tls" / "ca.pem").string();
    o.cert_file = (dir / "tls" / "client.pem").string();
    o.key_file = (dir / "tls" / "client-key.pem").string();
  } else {
    if (f.insecure && tls_flags) return InvalidArgumentError("--insecure cannot be combined with --ca, --cert or --key");
    if (f.cert.empty() != f.key.empty()) return InvalidArgumentError("--cert and --key go together");
    o.server = f.server;
    o.ca_file = f.ca;
    o.cert_file = f.cert;
    o.key_file = f.key;
    o.insecure = f.insecure;
  }
  Status s = client::ValidateClientOptions(o);
  if (!s.ok()) return Status(StatusCode::kInvalidArgument, (f.dev.empty() ? "" : "--dev: ") + s.message());
  return std::optional<client::ClientOptions>(std::move(o));
}

StatusOr<std::vector<uint8_t>> ReadHeader(Input& in) {
  std::vector<uint8_t> header(8);
  SES_RETURN_IF_ERROR(in.ReadExactly(header));
  SES_ASSIGN_OR_RETURN(size_t size, Engine::HeaderSize(header));
  header.resize(size);
  SES_RETURN_IF_ERROR(in.ReadExactly(std::span<uint8_t>(header).subspan(8)));
  return header;
}

int RemoteEncrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx) {
  return WithFiles("encrypt", server, a, [&](client::Client& c, Input& in, Output& out) -> Status {
    if (a.local) {
      SES_ASSIGN_OR_RETURN(auto plaintext, in.ReadAll(kLocalLimit));
      SES_ASSIGN_OR_RETURN(auto local, client::LocalEncryptor::Create(c));
      SES_ASSIGN_OR_RETURN(auto ciphertext, local->Encrypt(a.keyring, ctx, plaintext));
      return out.Write(ciphertext);
    }
    if (Unary(in)) {
      SES_ASSIGN_OR_RETURN(auto plaintext, in.ReadAll(kUnaryLimit));
      SES_ASSIGN_OR_RETURN(auto ciphertext, c.Encrypt(a.keyring, ctx, plaintext));
      return out.Write(ciphertext);
    }
    return c.EncryptStream(
        a.keyring, ctx, [&](std::span<uint8_t> b) { return in.Read(b); },
        [&](std::span<const uint8_t> b) { return out.Write(b); });
  });
}

int RemoteDecrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx) {
  return WithFiles("decrypt", server, a, [&](client::Client& c, Input& in, Output& out) -> Status {
    if (a.local) {
      SES_ASSIGN_OR_RETURN(auto ciphertext, in.ReadAll(kLocalLimit));
      SES_ASSIGN_OR_RETURN(auto local, client::LocalEncryptor::Create(c));
      SES_ASSIGN_OR_RETURN(auto plaintext, local->Decrypt(ciphertext, ctx));
      return out.Write(plaintext);
    }
    if (Unary(in)) {
      SES_ASSIGN_OR_RETURN(auto ciphertext, in.ReadAll(kUnaryLimit));
      SES_ASSIGN_OR_RETURN(auto plaintext, c.Decrypt(ciphertext, ctx));
      return out.Write(plaintext);
    }
    return c.DecryptStream(
        ctx, [&](std::span<uint8_t> b) { return in.Read(b); },
        [&](std::span<const uint8_t> b) { return out.Write(b); });
  });
}

int RemoteReEncrypt(const client::ClientOptions& server, const CryptoArgs& a, const EncryptionContext& ctx) {
  // Only the header goes to the server; the body is copied here unchanged.
  return WithFiles("reencrypt", server, a, [&](client::Client& c, Input& in, Output& out) -> Status {
    SES_ASSIGN_OR_RETURN(auto header, ReadHeader(in));
    SES_ASSIGN_OR_RETURN(auto fresh, c.ReEncrypt(header, ctx, a.keyring));
    SES_RETURN_IF_ERROR(out.Write(fresh));
    return CopyRest(in, out);
  });
}

}  // namespace ses::cli
