// sesctl: the SES command line. Offline mode reads a config file and runs
// the engine in-process; client mode (--server or --dev) calls sesd.
#include <sys/prctl.h>

#include <iostream>
#include <map>

#include <boost/program_options.hpp>

#include "commands.h"
#include "io.h"
#include "remote.h"

namespace po = boost::program_options;

namespace {

constexpr char kUsage[] = R"(usage: sesctl [--config FILE] COMMAND [OPTIONS]          (offline)
       sesctl --server HOST:PORT [--ca FILE] [--cert FILE --key FILE] [--insecure] COMMAND [OPTIONS]
       sesctl --dev DIR COMMAND [OPTIONS]                  (the server 'sesd --dev --dir DIR' runs)

commands:
  init DIR [--key-uri URI]          write DIR/ses.conf with keyring 'default'
  encrypt [--keyring NAME] [--context K=V ...] [--in PATH|-] [--out PATH|-] [--local]
  decrypt [--context K=V ...] [--in PATH|-] [--out PATH|-] [--local]
  reencrypt [--keyring NAME] [--context K=V ...] [--in PATH|-] [--out PATH|-]
  inspect [--in PATH|-]             print a message's header (never secrets)
  keys create URI | keys rotate URI | keys list [URI]           (offline)
  plugins                           list loaded plugins         (offline)
  datakey generate [--keyring NAME] [--context K=V ...] [--out PATH|-] [--plaintext-out FILE]
  datakey decrypt [--context K=V ...] [--in PATH|-] [--plaintext-out FILE]
  bench --op encrypt|decrypt|batch-encrypt|echo [--size BYTES] [--concurrency N]
        [--duration SECONDS] [--rate CALLS_PER_S] [--batch N] [--keyring NAME] [--json]

--config defaults to $SES_CONFIG. With --server or --dev, encrypt, decrypt and
reencrypt run through sesd (inputs over 1 MiB and pipes are streamed), and
--local seals or opens here under a data key from the server. datakey and
bench need a server. 'sesctl COMMAND --help' shows a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace ses::cli;
  // Data keys live in this process's memory: keep them out of core dumps and
  // away from same-user ptrace.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  InstallOutputCleanup();
  po::options_description global("global options");
  global.add_options()
      ("config,c", po::value<std::string>(), "configuration file")
      ("server", po::value<std::string>(), "sesd address HOST:PORT (client mode)")
      ("ca", po::value<std::string>(), "CA certificate that verifies the server")
      ("cert", po::value<std::string>(), "client certificate (mTLS)")
      ("key", po::value<std::string>(), "client private key (mTLS)")
      ("insecure", "no TLS (local tests only)")
      ("dev", po::value<std::string>(), "the dev server in DIR: DIR/endpoint and DIR/tls/")
      ("help,h", "show this help")
      ("version", "show the version");
  po::options_description hidden;
  hidden.add_options()
      ("command", po::value<std::string>())
      ("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(global).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);

  po::variables_map vm;
  Args rest;
  try {
    po::parsed_options parsed =
        po::command_line_parser(argc, argv)
            .options(all)
            .positional(pos)
            // No abbreviations: a command's --in must not be taken for --insecure.
            .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
            .allow_unregistered()
            .run();
    po::store(parsed, vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const std::exception& e) {
    return Usage(e.what());
  }
  if (vm.count("version")) {
    std::cout << "sesctl 0.1.0 (plugin ABI 1)\n";
    return 0;
  }
  // Client-mode flags are checked first, so `--server encrypt` (a missing
  // address) reads as a bad address, not as a missing command.
  ServerFlags sf;
  auto flag = [&](const char* name) { return vm.count(name) ? vm[name].as<std::string>() : std::string(); };
  sf.server = flag("server");
  sf.ca = flag("ca");
  sf.cert = flag("cert");
  sf.key = flag("key");
  sf.dev = flag("dev");
  sf.insecure = vm.count("insecure") > 0;
  sf.config = vm.count("config") > 0;
  for (const char* name : {"server", "ca", "cert", "key", "dev"}) {
    if (vm.count(name) && flag(name).empty()) return Usage(std::string("--") + name + " needs a value");
  }
  auto server = ResolveServer(sf);
  if (!server.ok()) return Usage(server.status().message());
  if (!vm.count("command")) {
    if (vm.count("help")) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << kUsage;
    return 2;
  }
  Globals g;
  g.program = argv[0];
  if (vm.count("config")) {
    g.config = vm["config"].as<std::string>();
  } else if (const char* env = std::getenv("SES_CONFIG")) {
    g.config = env;
  }
  g.server = std::move(server).value();

  std::string command = vm["command"].as<std::string>();
  if (!rest.empty() && rest.front() == command) rest.erase(rest.begin());
  if (vm.count("help")) rest.push_back("--help");

  static const std::map<std::string, int (*)(const Globals&, const Args&)> kCommands = {
      {"init", RunInit},       {"encrypt", RunEncrypt}, {"decrypt", RunDecrypt}, {"reencrypt", RunReEncrypt},
      {"inspect", RunInspect}, {"keys", RunKeys},       {"plugins", RunPlugins}, {"datakey", RunDataKey},
      {"bench", RunBench},
  };
  auto it = kCommands.find(command);
  if (it == kCommands.end()) return Usage("unknown command '" + command + "' (see sesctl --help)");
  if (g.server && (command == "init" || command == "keys" || command == "plugins")) {
    return Usage(command + " works offline only (--config), not with --server or --dev");
  }
  return it->second(g, rest);
}
