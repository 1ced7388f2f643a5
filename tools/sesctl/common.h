// Pieces every sesctl command shares: option parsing, the context flag, and
// opening the engine named by --config.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "commands.h"
#include "ses/config.h"
#include "ses/envelope.h"

namespace ses::cli {

namespace po = boost::program_options;

// The options encrypt, decrypt and reencrypt share.
struct CryptoArgs {
  std::string keyring = "default";
  std::vector<std::string> context;
  std::string in = "-";
  std::string out = "-";
  bool local = false;  // client mode: seal and open here, keys from the server
};

// Parses `args` against `desc` (plus --help). Returns nullopt after printing
// help (exit 0) or a usage error (exit 2); `exit_code` says which.
std::optional<po::variables_map> ParseArgs(const std::string& command, const Args& args, po::options_description desc,
                                           const po::positional_options_description* positional, int& exit_code);

// "--context k=v" flags to a context; kInvalidArgument on a malformed one.
StatusOr<EncryptionContext> ParseContext(const std::vector<std::string>& flags);

// Loads --config and builds the engine.
StatusOr<Runtime> OpenFromGlobals(const Globals& g);

}  // namespace ses::cli
