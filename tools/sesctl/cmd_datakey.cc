// datakey generate | datakey decrypt: data keys from sesd for applications
// that encrypt on their own. The plaintext key is written only to a file
// named by --plaintext-out (mode 0600, appearing only on success), never to
// stdout, a device, a FIFO or a log: the path is checked before the server
// is asked for the key (Output::OpenSecret).
#include <filesystem>
#include <iostream>
#include <system_error>

#include "common.h"
#include "io.h"
#include "remote.h"

namespace ses::cli {
namespace {

// Whether --out (which may be stdout) and --plaintext-out name one file.
bool SamePath(const std::string& a, const std::string& b) {
  if (a == "-" || a == "/dev/stdout") return false;
  std::error_code ec1, ec2;
  auto ca = std::filesystem::weakly_canonical(a, ec1);
  auto cb = std::filesystem::weakly_canonical(b, ec2);
  return a == b || (!ec1 && !ec2 && ca == cb);
}

Status WriteKey(Output& out, const SecretBytes& key) {
  SES_RETURN_IF_ERROR(out.Write(key.span()));
  return out.Commit();
}

}  // namespace

int RunDataKey(const Globals& g, const Args& args) {
  std::string action, keyring = "default", in = "-", out = "-", plaintext_out;
  std::vector<std::string> context;
  po::options_description d("options");
  d.add_options()
      ("keyring,k", po::value(&keyring)->default_value(keyring), "generate: keyring name")
      ("context", po::value(&context)->composing(), "encryption context entry KEY=VALUE (repeatable)")
      ("in,i", po::value(&in)->default_value(in), "decrypt: encrypted key or message, - for stdin")
      ("out,o", po::value(&out)->default_value(out), "generate: where the encrypted key goes, - for stdout")
      ("plaintext-out", po::value(&plaintext_out), "file for the plaintext data key (created 0600)");
  // The action comes first, then its options.
  if (!args.empty() && !args.front().empty() && args.front().front() != '-') action = args.front();
  const Args rest(args.begin() + (action.empty() ? 0 : 1), args.end());
  int code = 0;
  auto vm = ParseArgs("datakey generate|decrypt", rest, d, nullptr, code);
  if (!vm) return code;
  if (action != "generate" && action != "decrypt") return Usage("datakey: expected 'generate' or 'decrypt'");
  const std::string command = "datakey " + action;
  if (!g.server) return Usage(command + ": needs a server (--server or --dev)");
  if (plaintext_out == "-") return Usage(command + ": --plaintext-out needs a file: the key is never printed");
  if (action == "generate" && !(*vm)["in"].defaulted()) return Usage("datakey generate: takes no --in");
  if (action == "generate" && !plaintext_out.empty() && SamePath(out, plaintext_out)) {
    return Usage("datakey generate: --out and --plaintext-out must name different files");
  }
  if (action == "decrypt" && (!(*vm)["keyring"].defaulted() || !(*vm)["out"].defaulted())) {
    return Usage("datakey decrypt: takes no --keyring or --out (the key goes to --plaintext-out)");
  }
  auto ctx = ParseContext(context);
  if (!ctx.ok()) return Usage(ctx.status().message());

  // Refused before any key exists: a path that cannot take a secret.
  std::unique_ptr<Output> key_out;
  if (!plaintext_out.empty()) {
    auto opened = Output::OpenSecret(plaintext_out);
    if (!opened.ok()) return Fail(command, opened.status());
    key_out = std::move(opened).value();
  }

  auto c = client::Client::Connect(*g.server);
  if (!c.ok()) return Fail(command, c.status());

  if (action == "generate") {
    // The encrypted key lands first: a plaintext key whose encrypted form
    // was lost could never be recovered later.
    auto enc_out = Output::Open(out);
    if (!enc_out.ok()) return Fail(command, enc_out.status());
    auto grant = (*c)->GenerateDataKey(keyring, *ctx);
    if (!grant.ok()) return Fail(command, grant.status());
    Status s = (*enc_out)->Write(grant->encrypted_key);
    if (s.ok()) s = (*enc_out)->Commit();
    if (s.ok() && key_out) s = WriteKey(*key_out, grant->data_key);
    return s.ok() ? 0 : Fail(command, s);
  }

  auto input = Input::Open(in);
  if (!input.ok()) return Fail(command, input.status());
  auto header = ReadHeader(**input);
  if (!header.ok()) return Fail(command, header.status());
  auto key = (*c)->DecryptDataKey(*header, *ctx);
  if (!key.ok()) return Fail(command, key.status());
  if (!key_out) {
    std::cout << "data key opened (" << key->size() << " bytes); --plaintext-out FILE writes it\n";
    return 0;
  }
  Status s = WriteKey(*key_out, *key);
  return s.ok() ? 0 : Fail(command, s);
}

}  // namespace ses::cli
