// GoogleMock matchers for ses::Status, shared by the test suites so each
// failure prints the same way: the code, then what the message did not match.
#pragma once

#include <string>

#include <gmock/gmock.h>

#include "ses/status.h"

namespace ses::testing {

// Matches a Status (or a StatusOr's status()) with `code` whose message
// satisfies `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + std::string(StatusCodeName(code)) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  if (arg.code() != code) {
    *result_listener << "whose status is " << arg.ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, arg.message(), result_listener);
}

}  // namespace ses::testing
