// Helpers for the loader tests: the load-error matcher and scheme lookup that
// cannot dereference an error; StatusIs and TempDir come from tests/support.
// Fixture paths come from the build as SES_FIXTURE_* macros.
#pragma once

#include <string>
#include <string_view>

#include <gmock/gmock.h>

#include "ses/registry.h"
#include "ses/status.h"
#include "status_matchers.h"
#include "test_env.h"

namespace ses::loader_test {

using ::ses::testing::StatusIs;
using ::ses::testing::TempDir;

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

}  // namespace ses::loader_test
