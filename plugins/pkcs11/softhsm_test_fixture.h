// SoftHsmTest: a GoogleTest fixture that gives each test a SoftHSM2 token of
// its own ("ses-test", SO PIN 12345678, user PIN 87654321) in a private
// temporary directory with its own softhsm2.conf.
//
// SoftHSM2 reads SOFTHSM2_CONF once, at the first C_Initialize of a process,
// so one process can use one test's token only. ctest runs every discovered
// test in a process of its own; when the binary is run by hand, the second
// and later tests re-run themselves in a child process (this binary with a
// --gtest_filter for that one test) and report its result.
//
// Thread safety: one test at a time; helpers are for the test's main thread.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pkcs11_provider.h"

namespace ses::pkcs11 {

using Bytes = std::vector<uint8_t>;

class SoftHsmTest : public ::testing::Test {
 protected:
  static constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr const char* kToken = "ses-test";
  static constexpr const char* kUserPin = "87654321";

  void SetUp() override;
  void TearDown() override;

  // Runs `command` under /bin/sh with this test's SOFTHSM2_CONF; returns its
  // exit status. Its output goes to a log printed when the command fails.
  int Shell(const std::string& command);
  // pkcs11-tool on this token, logged in as the user; true on success.
  bool Pkcs11Tool(const std::string& args);

  // A provider with `config` (the test fails if it cannot be made).
  std::unique_ptr<Pkcs11Provider> NewProvider(const PluginConfig& config = {});
  // pkcs11:token=ses-test;object=<object><path_extra>?pin-value=87654321
  static std::string Uri(const std::string& object, const std::string& path_extra = "");
  // The same without a PIN.
  static std::string UriWithoutPin(const std::string& object, const std::string& path_extra = "");

  // Writes `contents` to DIR/<name> with `mode`; returns the path.
  std::string WriteFile(const std::string& name, const std::string& contents, unsigned mode);

  std::string dir_;
};

// n bytes counting up from `first`.
Bytes Pattern(uint8_t first, size_t n);
Bytes ToBytes(const SecretBytes& s);

}  // namespace ses::pkcs11
