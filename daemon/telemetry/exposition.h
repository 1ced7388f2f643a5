// The Prometheus text exposition format 0.0.4, piece by piece: name checks,
// escaping and sample lines. MetricRegistry::Render is built from these.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ses::telemetry::internal {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus).
bool IsValidLabelName(std::string_view name);

// HELP text: backslash and newline escaped.
void AppendEscapedHelp(std::string& out, std::string_view help);
// Label values: backslash, double quote and newline escaped; bytes that are
// not well-formed UTF-8 become U+FFFD (Prometheus refuses the whole scrape).
void AppendEscapedLabelValue(std::string& out, std::string_view value);

// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

// "name{l1="v1",l2="v2",extra_name="extra_value"} value\n". The extra label
// (histogram "le") is left out when extra_name is empty; so are the braces
// when there are no labels at all. REQUIRES: names.size() == values.size().
void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view extra_name,
                  std::string_view extra_value, double value);

}  // namespace ses::telemetry::internal
