// libFuzzer target: the pre-parse wire scan (daemon/service/wire_scan.h),
// fed arbitrary bytes as a BatchEncryptRequest, a BatchDecryptRequest and
// two unary requests. Beyond "no crash, no sanitizer report" it checks the
// promise the daemon relies on: whatever the scan accepts, protobuf parses,
// into as many items as the scan counted and no larger context maps; the
// parsed message serialized again scans to the same counts; and tight
// limits agree with roomy ones (they pass exactly when the counts fit, and
// otherwise stop with RESOURCE_EXHAUSTED or the same malformation).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "service/wire_scan.h"
#include "ses/v1/crypto.pb.h"

using ses::StatusCode;
using ses::daemon::BatchKind;
using ses::daemon::ScanBatchRequest;
using ses::daemon::ScanContextMap;
using ses::daemon::WireCounts;
using ses::daemon::WireLimits;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr WireLimits kRoomy{.max_items = 1 << 30, .max_context_entries = 1 << 30, .max_context_bytes = 1 << 30};
constexpr WireLimits kTight{.max_items = 3, .max_context_entries = 2, .max_context_bytes = 24};

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

template <typename Request>
void CheckBatch(BatchKind kind, std::span<const uint8_t> wire) {
  WireCounts counts;
  const ses::Status roomy = ScanBatchRequest(kind, wire, kRoomy, &counts);
  Check(roomy.ok() || roomy.code() == StatusCode::kInvalidArgument);

  WireCounts tight_counts;
  const ses::Status tight = ScanBatchRequest(kind, wire, kTight, &tight_counts);
  const bool fits = counts.items <= kTight.max_items && counts.max_item_context_entries <= kTight.max_context_entries &&
                    counts.max_item_context_bytes <= kTight.max_context_bytes;
  if (tight.ok()) {
    Check(roomy.ok() && fits);
    Check(tight_counts.items == counts.items && tight_counts.max_item_context_entries == counts.max_item_context_entries &&
          tight_counts.max_item_context_bytes == counts.max_item_context_bytes);
  } else if (tight.code() == StatusCode::kInvalidArgument) {
    Check(!roomy.ok() && tight.message() == roomy.message());
  } else {
    Check(tight.code() == StatusCode::kResourceExhausted);
    Check(!roomy.ok() || !fits);
  }
  if (roomy.ok() && fits) Check(tight.ok());

  if (!roomy.ok()) return;
  Request req;
  {
    const google::protobuf::LogSilencer quiet;
    Check(req.ParseFromArray(wire.data(), static_cast<int>(wire.size())));
  }
  Check(static_cast<size_t>(req.items_size()) == counts.items);
  size_t max_entries = 0;
  for (const auto& item : req.items()) max_entries = std::max(max_entries, item.context().size());
  // Equal unless a key came twice (the map keeps one).
  Check(max_entries <= counts.max_item_context_entries);

  // Serialized again, each key once: the scan counts what the map holds.
  const std::string again = req.SerializeAsString();
  WireCounts again_counts;
  Check(ScanBatchRequest(kind, Bytes(again), kRoomy, &again_counts).ok());
  Check(again_counts.items == counts.items && again_counts.max_item_context_entries == max_entries);
}

// A unary request whose only declared fields are bytes and the context, so
// the scan's verdict must be the parser's whenever the scan accepts.
template <typename Request>
void CheckContext(std::span<const uint8_t> wire, int context_field) {
  size_t entries = 0;
  const ses::Status s = ScanContextMap(wire, context_field, kRoomy, &entries);
  Check(s.ok() || s.code() == StatusCode::kInvalidArgument);
  if (!s.ok()) return;
  Request req;
  {
    const google::protobuf::LogSilencer quiet;
    Check(req.ParseFromArray(wire.data(), static_cast<int>(wire.size())));
  }
  Check(req.context().size() <= entries);
  const ses::Status tight = ScanContextMap(wire, context_field, kTight);
  Check(tight.ok() || tight.code() == StatusCode::kResourceExhausted);
  if (entries > kTight.max_context_entries) Check(!tight.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> wire(data, size);
  CheckBatch<ses::v1::BatchEncryptRequest>(BatchKind::kEncrypt, wire);
  CheckBatch<ses::v1::BatchDecryptRequest>(BatchKind::kDecrypt, wire);
  CheckContext<ses::v1::DecryptRequest>(wire, 2);      // ciphertext = 1 (bytes)
  CheckContext<ses::v1::DecryptStreamStart>(wire, 1);  // context only
  return 0;
}
