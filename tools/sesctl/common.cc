#include "common.h"

#include <iostream>

namespace ses::cli {

int Fail(const std::string& what, const Status& s) {
  std::cerr << "sesctl: " << what << ": " << s.message() << "\n";
  return 1;
}

int Usage(const std::string& message) {
  std::cerr << "sesctl: " << message << "\n";
  return 2;
}

std::optional<po::variables_map> ParseArgs(const std::string& command, const Args& args, po::options_description desc,
                                           const po::positional_options_description* positional, int& exit_code) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  try {
    po::command_line_parser parser(args);
    parser.options(desc);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    exit_code = Usage(command + ": " + e.what());
    return std::nullopt;
  }
  if (vm.count("help")) {
    std::cout << "usage: sesctl [--config FILE | --server HOST:PORT ... | --dev DIR] " << command << " [OPTIONS]\n"
              << desc;
    exit_code = 0;
    return std::nullopt;
  }
  return vm;
}

StatusOr<EncryptionContext> ParseContext(const std::vector<std::string>& flags) {
  EncryptionContext ctx;
  for (const auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("bad --context '" + f + "': expected KEY=VALUE");
    }
    if (!ctx.emplace(f.substr(0, eq), f.substr(eq + 1)).second) {
      return InvalidArgumentError("--context key '" + f.substr(0, eq) + "' given twice");
    }
  }
  return ctx;
}

StatusOr<Runtime> OpenFromGlobals(const Globals& g) {
  if (g.config.empty()) return InvalidArgumentError("no configuration: pass --config FILE or set SES_CONFIG");
  SES_ASSIGN_OR_RETURN(Config cfg, LoadConfig(g.config));
  return OpenRuntime(cfg);
}

}  // namespace ses::cli
