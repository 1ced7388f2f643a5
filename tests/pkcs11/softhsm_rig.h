// SoftHsmRig: a private SoftHSM2 token for one test, made by
// scripts/softhsm-rig.sh in a fresh temporary directory (removed with the
// rig), and the paths and pkcs11: URIs the test needs.
//
// SoftHSM2 reads SOFTHSM2_CONF once, at the first C_Initialize of a process.
// Activate() sets it for this process and every child it starts (sesctl,
// pkcs11-tool), so call it before any engine or provider exists. A process
// can therefore load one rig's token only: tests that load the pkcs11 plugin
// in-process call ClaimSoftHsmInProcess() and skip when another rig came first (ctest
// runs each test in a process of its own, so this bites only when the whole
// binary is run by hand).
//
// Thread safety: one test at a time. The rig owns its directory.
#pragma once

#include <string>
#include <vector>

#include "process.h"
#include "test_env.h"

namespace ses::testing {

// A key URI without its query (PIN source, module path): what headers and
// messages show.
inline std::string Identity(const std::string& uri) { return uri.substr(0, uri.find('?')); }

struct RigOptions {
  std::string token = "ses-test";
  std::vector<std::string> aes_keys = {};  // pkcs11-tool AES-256 keys, CKA_ID 01
  std::vector<std::string> rsa_keys = {};  // pkcs11-tool RSA-2048 key pairs, CKA_ID 01
};

inline const std::string kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
inline const std::string kRigScript = std::string(SES_TEST_SOURCE_DIR) + "/scripts/softhsm-rig.sh";
inline const std::string kPkcs11Plugin = std::string(SES_TEST_PLUGIN_DIR) + "/ses_pkcs11.so";

// True the first time it is called in a process, false after: the caller
// may load SoftHSM2 in-process (see above).
bool ClaimSoftHsmInProcess();

// Runs the rig script with `args` (the first is DIR) and the current environment.
ProcessResult RunRigScript(const std::vector<std::string>& args);

class SoftHsmRig {
 public:
  // Runs the script; throws std::runtime_error with its stderr if it fails.
  explicit SoftHsmRig(RigOptions options = {});

  // Points SOFTHSM2_CONF at this rig, for this process and its children.
  void Activate() const;

  std::string Join(const std::string& name) const { return dir_.Join(name); }
  const std::string& dir() const { return dir_path_; }
  const std::string& token() const { return options_.token; }
  std::string conf() const { return Join("softhsm2.conf"); }
  std::string user_pin_file() const { return Join("user.pin"); }
  std::string so_pin_file() const { return Join("so.pin"); }
  // The PINs themselves, so tests can check they never leak.
  std::string user_pin() const;
  std::string so_pin() const;

  // pkcs11:token=T;object=O?pin-source=<user.pin>, as the script prints them.
  std::string Uri(const std::string& object) const;
  // The same without a PIN attribute (the PIN then comes from the config).
  std::string UriWithoutPin(const std::string& object) const;
  // What the script printed on stdout, line by line.
  const std::vector<std::string>& printed() const { return printed_; }

  // Runs pkcs11-tool on this token, logged in as the user, with extra `args`
  // (the PIN goes through the environment, never argv).
  ProcessResult Pkcs11Tool(const std::vector<std::string>& args) const;
  // Deletes one object labelled `label` of pkcs11-tool type `type`
  // (secrkey, privkey, pubkey: pkcs11-tool deletes the first match);
  // throws if pkcs11-tool fails.
  void DeleteObject(const std::string& label, const std::string& type = "secrkey") const;

 private:
  RigOptions options_;
  TempDir dir_;
  std::string dir_path_;
  std::vector<std::string> printed_;
};

// ReadFile and WriteFile come from test_env.h.
size_t LineCount(const std::string& s);

}  // namespace ses::testing
