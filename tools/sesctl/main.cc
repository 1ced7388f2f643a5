// sesctl: the SES command line. Offline mode: reads a config file and runs
// the engine in-process (a client mode for sesd comes with the daemon).
#include <sys/prctl.h>

#include <iostream>
#include <map>

#include <boost/program_options.hpp>

#include "commands.h"
#include "io.h"

namespace po = boost::program_options;

namespace {

constexpr char kUsage[] = R"(usage: sesctl [--config FILE] COMMAND [OPTIONS]

commands:
  init DIR [--key-uri URI]          write DIR/ses.conf with keyring 'default'
  encrypt [--keyring NAME] [--context K=V ...] [--in PATH|-] [--out PATH|-]
  decrypt [--context K=V ...] [--in PATH|-] [--out PATH|-]
  reencrypt [--keyring NAME] [--in PATH|-] [--out PATH|-]
  inspect [--in PATH|-]             print a message's header (never secrets)
  keys create URI | keys rotate URI | keys list [URI]
  plugins                           list loaded plugins

--config defaults to $SES_CONFIG. 'sesctl COMMAND --help' shows a command's options.
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
        po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::store(parsed, vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const std::exception& e) {
    return Usage(e.what());
  }
  if (vm.count("version")) {
    std::cout << "sesctl 0.1.0 (plugin ABI 1)\n";
    return 0;
  }
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
  std::string command = vm["command"].as<std::string>();
  if (!rest.empty() && rest.front() == command) rest.erase(rest.begin());
  if (vm.count("help")) rest.push_back("--help");

  static const std::map<std::string, int (*)(const Globals&, const Args&)> kCommands = {
      {"init", RunInit},       {"encrypt", RunEncrypt}, {"decrypt", RunDecrypt}, {"reencrypt", RunReEncrypt},
      {"inspect", RunInspect}, {"keys", RunKeys},       {"plugins", RunPlugins},
  };
  auto it = kCommands.find(command);
  if (it == kCommands.end()) return Usage("unknown command '" + command + "' (see sesctl --help)");
  return it->second(g, rest);
}
