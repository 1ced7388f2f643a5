// InstrumentedProvider: a KeyProvider that forwards every call to the real
// one and records it in ses_provider_calls_total{provider,op,outcome} and
// ses_provider_call_duration_seconds{provider,op}. Outcome is "ok" or the
// status name, a fixed set.
//
// Thread safety: as the wrapped provider.
#pragma once

#include <memory>
#include <string>

#include "ses/key_provider.h"
#include "telemetry/sesd_metrics.h"

namespace ses::daemon {

std::shared_ptr<KeyProvider> Instrument(std::string name, std::shared_ptr<KeyProvider> provider,
                                        telemetry::SesdMetrics& metrics);

}  // namespace ses::daemon
