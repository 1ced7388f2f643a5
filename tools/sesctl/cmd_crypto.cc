// encrypt, decrypt and reencrypt: streamed, so memory stays bounded by the
// frame size whatever the input size. With a server (client mode) they run
// through sesd instead (remote.cc).
#include <array>

#include "common.h"
#include "io.h"
#include "remote.h"
#include "ses/engine.h"

namespace ses::cli {
namespace {

constexpr size_t kChunk = 64 * 1024;

// reencrypt takes --context for the server (which checks it, as Decrypt
// does) and no --local; encrypt and decrypt take both.
po::options_description CryptoOptions(CryptoArgs& a, bool keyring, bool local) {
  po::options_description d("options");
  if (keyring) d.add_options()("keyring,k", po::value(&a.keyring)->default_value("default"), "keyring name");
  d.add_options()("context", po::value(&a.context)->composing(), "encryption context entry KEY=VALUE (repeatable)");
  d.add_options()("in,i", po::value(&a.in)->default_value("-"), "input file, - for stdin")(
      "out,o", po::value(&a.out)->default_value("-"), "output file, - for stdout (a file appears only on success)");
  if (local) {
    d.add_options()("local", po::bool_switch(&a.local),
                    "with a server: seal or open here under a data key from the server (plaintext stays here)");
  }
  return d;
}

// Feeds the whole input to `write`, chunk by chunk.
template <typename W>
Status Pump(Input& in, W&& write) {
  std::vector<uint8_t> buf(kChunk);
  for (;;) {
    SES_ASSIGN_OR_RETURN(size_t n, in.Read(buf));
    if (n == 0) return OkStatus();
    SES_RETURN_IF_ERROR(write(std::span<const uint8_t>(buf.data(), n)));
  }
}

}  // namespace

// encrypt and decrypt: parse, open the engine and files, then pump the input
// through the stream `open_stream` makes. The output file appears only if
// every step succeeded.
template <typename OpenStream>
int RunStream(const std::string& command, const Globals& g, const Args& args, bool keyring, OpenStream&& open_stream) {
  CryptoArgs a;
  int code = 0;
  auto vm = ParseArgs(command, args, CryptoOptions(a, keyring, true), nullptr, code);
  if (!vm) return code;
  auto ctx = ParseContext(a.context);
  if (!ctx.ok()) return Usage(ctx.status().message());
  if (g.server) {
    return command == "encrypt" ? RemoteEncrypt(*g.server, a, *ctx) : RemoteDecrypt(*g.server, a, *ctx);
  }
  if (a.local) return Usage(command + ": --local needs a server (--server or --dev)");
  auto rt = OpenFromGlobals(g);
  if (!rt.ok()) return Fail(command, rt.status());
  auto in = Input::Open(a.in);
  if (!in.ok()) return Fail(command, in.status());
  auto out = Output::Open(a.out);
  if (!out.ok()) return Fail(command, out.status());
  Output& o = **out;
  auto stream = open_stream(*rt->engine, a, *ctx, [&o](std::span<const uint8_t> b) { return o.Write(b); });
  if (!stream.ok()) return Fail(command, stream.status());
  Status s = Pump(**in, [&](std::span<const uint8_t> b) { return (*stream)->Write(b); });
  if (s.ok()) s = (*stream)->Finish();
  if (s.ok()) s = o.Commit();
  return s.ok() ? 0 : Fail(command, s);
}

int RunEncrypt(const Globals& g, const Args& args) {
  return RunStream("encrypt", g, args, true, [](Engine& e, const CryptoArgs& a, const EncryptionContext& ctx, Sink sink) {
    return e.NewEncryptStream(a.keyring, ctx, std::move(sink));
  });
}

int RunDecrypt(const Globals& g, const Args& args) {
  return RunStream("decrypt", g, args, false, [](Engine& e, const CryptoArgs&, const EncryptionContext& ctx, Sink sink) {
    return e.NewDecryptStream(ctx, std::move(sink));
  });
}

int RunReEncrypt(const Globals& g, const Args& args) {
  CryptoArgs a;
  int code = 0;
  auto vm = ParseArgs("reencrypt", args, CryptoOptions(a, true, false), nullptr, code);
  if (!vm) return code;
  auto ctx = ParseContext(a.context);
  if (!ctx.ok()) return Usage(ctx.status().message());
  if (g.server) return RemoteReEncrypt(*g.server, a, *ctx);
  // Offline, the engine holds the master keys and needs no context to rewrap.
  if (!a.context.empty()) return Usage("reencrypt: --context is for client mode (--server or --dev)");
  auto rt = OpenFromGlobals(g);
  if (!rt.ok()) return Fail("reencrypt", rt.status());
  auto in = Input::Open(a.in);
  if (!in.ok()) return Fail("reencrypt", in.status());
  auto out = Output::Open(a.out);
  if (!out.ok()) return Fail("reencrypt", out.status());

  // Only the header is rewritten; the body is copied byte for byte.
  Status s = [&]() -> Status {
    std::vector<uint8_t> header(8);
    SES_RETURN_IF_ERROR((*in)->ReadExactly(header));
    SES_ASSIGN_OR_RETURN(size_t size, Engine::HeaderSize(header));
    header.resize(size);
    SES_RETURN_IF_ERROR((*in)->ReadExactly(std::span<uint8_t>(header).subspan(8)));
    SES_ASSIGN_OR_RETURN(auto fresh, rt->engine->ReEncryptHeader(header, a.keyring));
    SES_RETURN_IF_ERROR((*out)->Write(fresh));
    SES_RETURN_IF_ERROR(Pump(**in, [&](std::span<const uint8_t> b) { return (*out)->Write(b); }));
    return (*out)->Commit();
  }();
  return s.ok() ? 0 : Fail("reencrypt", s);
}

}  // namespace ses::cli
