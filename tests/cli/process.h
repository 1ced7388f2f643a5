// Runs sesctl as a child process for command-line tests: arguments, stdin
// from a file, stdout and stderr captured, and the child's peak memory.
#pragma once

#include <string>
#include <vector>

namespace ses::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  long max_rss_kib = 0;
};

// Runs `argv` (argv[0] is a path) with stdin from `stdin_path` ("" = /dev/null).
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_path = "");

// The sesctl this build made (ses_add_test defines SES_TEST_BIN_DIR).
inline const std::string kSesctl = std::string(SES_TEST_BIN_DIR) + "/sesctl";

// Runs kSesctl with `args` after it, stdin as for RunProcess.
ProcessResult RunSesctl(std::vector<std::string> args, const std::string& stdin_path = "");

}  // namespace ses::testing
