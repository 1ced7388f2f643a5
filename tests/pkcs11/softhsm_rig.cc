#include "softhsm_rig.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace ses::testing {
namespace {

// RFC 3986 percent-encoding of all but unreserved characters and '/', as
// the script does it.
std::string UriEscape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '/' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The variable pkcs11-tool reads the user PIN from ("--pin env:NAME").
constexpr char kPinVariable[] = "SES_TEST_RIG_PIN";

}  // namespace

ProcessResult RunRigScript(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/bash", kRigScript};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

SoftHsmRig::SoftHsmRig(RigOptions options) : options_(std::move(options)) {
  dir_path_ = std::filesystem::canonical(dir_.path()).string();
  std::vector<std::string> args = {dir_path_, "--token", options_.token};
  for (const auto& k : options_.aes_keys) args.insert(args.end(), {"--aes-key", k});
  for (const auto& k : options_.rsa_keys) args.insert(args.end(), {"--rsa-key", k});
  ProcessResult r = RunRigScript(args);
  if (r.exit_code != 0) {
    throw std::runtime_error("softhsm-rig.sh exited with " + std::to_string(r.exit_code) + ": " + r.err);
  }
  printed_ = Lines(r.out);
}

void SoftHsmRig::Activate() const { ::setenv("SOFTHSM2_CONF", conf().c_str(), 1); }

bool ClaimSoftHsmInProcess() {
  static bool claimed = false;
  return !std::exchange(claimed, true);
}

std::string SoftHsmRig::user_pin() const { return ReadFile(user_pin_file()); }
std::string SoftHsmRig::so_pin() const { return ReadFile(so_pin_file()); }

std::string SoftHsmRig::UriWithoutPin(const std::string& object) const {
  return "pkcs11:token=" + UriEscape(options_.token) + ";object=" + UriEscape(object);
}

std::string SoftHsmRig::Uri(const std::string& object) const {
  return UriWithoutPin(object) + "?pin-source=" + UriEscape(user_pin_file());
}

ProcessResult SoftHsmRig::Pkcs11Tool(const std::vector<std::string>& args) const {
  ::setenv(kPinVariable, user_pin().c_str(), 1);
  std::vector<std::string> argv = {"/usr/bin/pkcs11-tool", "--module", kSoftHsmModule, "--token-label",
                                   options_.token, "--login", "--pin", std::string("env:") + kPinVariable};
  argv.insert(argv.end(), args.begin(), args.end());
  // Only this rig's token, whatever the process was pointed at before.
  const char* before = std::getenv("SOFTHSM2_CONF");
  const std::string saved = before == nullptr ? "" : before;
  Activate();
  ProcessResult r = RunProcess(argv);
  if (before == nullptr) {
    ::unsetenv("SOFTHSM2_CONF");
  } else {
    ::setenv("SOFTHSM2_CONF", saved.c_str(), 1);
  }
  ::unsetenv(kPinVariable);
  return r;
}

void SoftHsmRig::DeleteObject(const std::string& label, const std::string& type) const {
  ProcessResult r = Pkcs11Tool({"--delete-object", "--type", type, "--label", label});
  if (r.exit_code != 0) throw std::runtime_error("pkcs11-tool --delete-object failed: " + r.err);
}

size_t LineCount(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace ses::testing
