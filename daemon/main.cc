// sesd: the SES daemon. See docs/operations.md (running it) and docs/api.md
// (what it serves).
#include <sys/prctl.h>
#include <sys/resource.h>

#include <iostream>

#include <boost/program_options.hpp>

#include "server/sesd.h"
#include "server/signals.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the blocked signals.
  ses::daemon::SignalWaiter signals;
  // No core files: a crash must not write cached data keys, TLS keys or
  // plaintext to disk. Non-dumpable also keeps other users' ptrace out.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  ses::daemon::SesdFlags flags;
  std::string config, dir, port_file;
  po::options_description options("sesd options");
  options.add_options()
      ("help,h", "print this help")
      ("config,c", po::value(&config), "config file (docs/config.md)")
      ("dev", "development mode: create (once) a local CA, certificates, a keyfile master key and a SQLite "
              "store under --dir, and serve them on 127.0.0.1")
      ("dir", po::value(&dir), "development mode's directory (default ./var/dev)")
      ("insecure", "listen without TLS (also needs [server] insecure = true, or logs a warning in --dev)")
      ("listen", po::value(&flags.listen), "HOST:PORT to serve on, overriding [server] listen (port 0: any)")
      ("port-file", po::value(&port_file), "once listening, write grpc=HOST:PORT and telemetry=HOST:PORT lines here");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sesd: " << e.what() << "\n(sesd --help lists the options)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: sesd --config FILE | sesd --dev [--dir DIR]\n\n" << options << "\n";
    return 0;
  }
  flags.dev = vm.count("dev") > 0;
  flags.insecure = vm.count("insecure") > 0;
  flags.config = config;
  flags.port_file = port_file;
  if (!dir.empty()) flags.dev_dir = dir;
  if (flags.dev == !config.empty()) {
    std::cerr << "sesd: give exactly one of --config FILE or --dev\n";
    return 2;
  }
  if (!dir.empty() && !flags.dev) {
    std::cerr << "sesd: --dir is for --dev only\n";
    return 2;
  }
  return ses::daemon::RunSesd(flags, signals);
}
