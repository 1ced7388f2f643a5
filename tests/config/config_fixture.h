// ConfigTest: writes a config file into a private temp dir and loads it with
// an injected environment, so tests never depend on the process's SES_*.
//
// Thread safety: one test at a time.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "ses/config.h"
#include "test_env.h"

namespace ses::testing {

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `text` as ses.conf and returns its path.
  std::string Write(const std::string& text) {
    WriteFile(path_, text);
    return path_;
  }
  StatusOr<Config> Load(const std::string& text, const Environment& env = {}) {
    return LoadConfig(Write(text), env);
  }
  // Loads, expecting INVALID_ARGUMENT whose message is exactly `message`
  // after "PATH:" (FILE:LINE errors) or in full (environment errors).
  void ExpectError(const std::string& text, const Environment& env, const std::string& message) {
    auto c = Load(text, env);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    std::string want = message.rfind("environment ", 0) == 0 ? message : path_ + ":" + message;
    EXPECT_EQ(c.status().message(), want) << text;
  }
  const std::string& path() const { return path_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string path_ = dir_.Join("ses.conf");
};

}  // namespace ses::testing
