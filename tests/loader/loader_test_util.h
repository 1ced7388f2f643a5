// Helpers for the loader tests: a Status matcher, scheme lookup that cannot
// dereference an error, and a private temporary directory. Fixture paths come
// from the build as SES_FIXTURE_* macros.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <gmock/gmock.h>

#include "ses/registry.h"
#include "ses/status.h"

namespace ses::loader_test {

// Matches a Status with `code` whose message satisfies `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(StatusCodeName(code)) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  if (arg.code() != code) {
    *result_listener << "whose status is " << arg.ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, arg.message(), result_listener);
}

// What every failed Load says: kFailedPrecondition, naming the file and why.
inline auto LoadErrorNaming(const std::string& file, const std::string& reason) {
  return StatusIs(StatusCode::kFailedPrecondition,
                  ::testing::AllOf(::testing::HasSubstr(file), ::testing::HasSubstr(reason)));
}

// The plugin serving `scheme`, or the lookup's error as text (so a failed
// lookup fails a comparison instead of dereferencing an empty StatusOr).
inline std::string SchemeOwner(const Registry& registry, std::string_view scheme) {
  auto owner = registry.KeyProviderForScheme(scheme);
  return owner.ok() ? *owner : "error: " + owner.status().ToString();
}

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ses-loader-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace ses::loader_test
