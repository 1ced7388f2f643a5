// inspect, keys and plugins: commands that look at things or manage master
// keys but never touch message plaintext.
#include <iostream>
#include <set>

#include "common.h"
#include "io.h"
#include "ses/engine.h"
#include "ses/registry.h"

namespace ses::cli {
namespace {

std::string Hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 15]);
  }
  return s;
}

// Terminals get control characters from untrusted headers escaped.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

int RunInspect(const Globals&, const Args& args) {
  std::string in_path = "-";
  po::options_description d("options");
  d.add_options()("in,i", po::value(&in_path)->default_value("-"), "message file, - for stdin");
  int code = 0;
  if (!ParseArgs("inspect", args, d, nullptr, code)) return code;
  auto in = Input::Open(in_path);
  if (!in.ok()) return Fail("inspect", in.status());
  std::vector<uint8_t> header(8);
  Status s = (*in)->ReadExactly(header);
  StatusOr<size_t> size = s.ok() ? Engine::HeaderSize(header) : StatusOr<size_t>(s);
  if (!size.ok()) return Fail("inspect", InvalidArgumentError("not an SES v1 message"));
  header.resize(*size);
  s = (*in)->ReadExactly(std::span<uint8_t>(header).subspan(8));
  if (!s.ok()) return Fail("inspect", InvalidArgumentError("message is shorter than its header"));
  auto h = Engine::Inspect(header);
  if (!h.ok()) return Fail("inspect", InvalidArgumentError("malformed header"));

  std::cout << "format version: " << int{h->format_version} << "\n"
            << "suite:          " << SuiteName(h->suite_id) << " (0x" << Hex(std::vector<uint8_t>{
                   static_cast<uint8_t>(h->suite_id >> 8), static_cast<uint8_t>(h->suite_id)}) << ")\n"
            << "keyring mode:   " << (h->mode == KeyringMode::kAll ? "all" : "any") << "\n"
            << "message id:     " << Hex(h->message_id) << "\n"
            << "frame size:     " << h->frame_size << "\n"
            << "header size:    " << h->header_size << " bytes (not authenticated by inspect)\n"
            << "context:        " << h->context.size() << (h->context.size() == 1 ? " entry" : " entries") << "\n";
  for (const auto& [k, v] : h->context) std::cout << "  " << Printable(k) << " = " << Printable(v) << "\n";
  std::cout << "wrapped keys:   " << h->keys.size() << "\n";
  for (const auto& k : h->keys) {
    std::cout << "  " << Printable(k.provider) << " " << Printable(k.key_uri) << " version "
              << Printable(k.key_version) << " (" << k.wrapped.size() << " bytes)\n";
  }
  return 0;
}

int RunKeys(const Globals& g, const Args& args) {
  std::string action, uri;
  po::options_description d("options");
  po::options_description hidden;
  hidden.add_options()("action", po::value(&action))("uri", po::value(&uri));
  d.add(hidden);
  po::positional_options_description pos;
  pos.add("action", 1).add("uri", 1);
  int code = 0;
  if (!ParseArgs("keys create|rotate|list", args, d, &pos, code)) return code;
  if (action != "create" && action != "rotate" && action != "list") {
    return Usage("keys: expected 'create URI', 'rotate URI' or 'list [URI]'");
  }
  if (action != "list" && uri.empty()) return Usage("keys " + action + ": missing key URI");
  auto rt = OpenFromGlobals(g);
  if (!rt.ok()) return Fail("keys " + action, rt.status());
  Engine& e = *rt->engine;

  if (action == "create") {
    auto made = e.CreateKey(uri);
    if (!made.ok()) return Fail("keys create", made.status());
    std::cout << "created " << made->substr(0, made->find('?')) << "\n";
    return 0;
  }
  if (action == "rotate") {
    auto v = e.RotateKey(uri);
    if (!v.ok()) return Fail("keys rotate", v.status());
    std::cout << "rotated " << uri.substr(0, uri.find('?')) << ": new data keys now wrap under version " << *v << "\n";
    return 0;
  }
  std::vector<std::string> uris;
  if (!uri.empty()) {
    uris.push_back(uri);
  } else {
    std::set<std::string> seen;
    for (const auto& k : e.keyrings()) {
      for (const auto& u : k.key_uris) {
        if (seen.insert(u).second) uris.push_back(u);
      }
    }
  }
  int rc = 0;
  for (const auto& u : uris) {
    auto versions = e.ListVersions(u);
    if (!versions.ok()) {
      rc = Fail("keys list", versions.status());
      continue;
    }
    std::cout << u.substr(0, u.find('?')) << ":";  // the query may hold a PIN
    for (const auto& v : *versions) std::cout << " " << v;
    std::cout << (versions->empty() ? "" : " (current " + versions->back() + ")") << "\n";
  }
  return rc;
}

int RunPlugins(const Globals& g, const Args& args) {
  po::options_description d("options");
  int code = 0;
  if (!ParseArgs("plugins", args, d, nullptr, code)) return code;
  Config cfg;
  if (!g.config.empty()) {
    auto loaded = LoadConfig(g.config);
    if (!loaded.ok()) return Fail("plugins", loaded.status());
    cfg = std::move(loaded).value();
  } else {
    cfg.path = "(no config)";
  }
  auto registry = LoadPlugins(cfg);
  if (!registry.ok()) return Fail("plugins", registry.status());
  for (const auto& p : (*registry)->Plugins()) {
    std::cout << p.name << "\t" << PluginKindName(p.kind) << "\t" << p.version << "\tABI " << p.abi_major << "."
              << p.abi_minor << "\t" << p.path << "\n";
  }
  return 0;
}

}  // namespace ses::cli
