// A check of a request's protobuf wire bytes before they are parsed.
//
// gRPC parses a request in full before a handler sees it, and a parse can
// cost far more memory than the bytes: a 6 MiB BatchEncryptRequest of empty
// items becomes 3 million objects, and small context entries each become a
// map node with two strings. The batch calls therefore take the raw bytes,
// scan them here, and parse only what passes.
//
// The scan walks the wire format without building anything and without
// allocating (a Status message is made only on failure). It counts items and
// each item's context entries and bytes, stops at the first limit exceeded,
// and validates the structure on the way: tags, varints, lengths within
// their message, wire types 0, 1, 2 and 5 only (groups are refused; SES's
// protos have none), and UTF-8 in every proto3 string field the message
// declares (a parse fails on those, so the scan does too). Unknown fields
// are skipped, as protobuf skips them, after the same structural checks.
//
// The scan is deliberately no more lenient than protobuf: whatever
// ScanBatchRequest accepts parses into the message (tests/fuzz checks it).
// It is stricter in a few corners no real client produces: groups, tags
// above 32 bits and field number 0.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ses/status.h"

namespace ses::daemon {

struct WireLimits {
  size_t max_items;                       // items in one batch request
  size_t max_context_entries = 256;       // context entries in one item (or request)
  size_t max_context_bytes = 64 * 1024;   // their encoded size, summed, per item
};

// What a successful scan saw. Context entries are counted as they occur on
// the wire, so a key sent twice counts twice (the parsed map keeps one).
struct WireCounts {
  size_t items = 0;
  size_t max_item_context_entries = 0;  // the largest over the items
  size_t max_item_context_bytes = 0;    // likewise: sum of the entries' lengths
};

enum class BatchKind {
  kEncrypt,  // ses.v1.BatchEncryptRequest: keyring = 1, items = 2
  kDecrypt,  // ses.v1.BatchDecryptRequest: items = 1
};

// Scans a serialized BatchEncryptRequest or BatchDecryptRequest. In both
// item types the context map is field 2 (field 1 is the bytes).
//
// Returns OK and fills *counts (when given) if the bytes are well formed and
// within `limits`. Otherwise *counts is left as it was and the result is
// kResourceExhausted naming the limit (max_items is reported as
// server.max_batch_items) as soon as a count passes it, even if later bytes
// are malformed; or kInvalidArgument "malformed request: <what> at byte N".
Status ScanBatchRequest(BatchKind kind, std::span<const uint8_t> wire, const WireLimits& limits,
                        WireCounts* counts = nullptr);

// Scans a serialized unary request whose map<string, string> context is
// field `context_field` (2 in EncryptRequest, DecryptRequest,
// ReEncryptRequest, GenerateDataKeyRequest and DecryptDataKeyRequest; 1 in
// DecryptStreamStart): the same structural checks, and max_context_entries
// and max_context_bytes for that one map (max_items is not used). Other
// string fields are not UTF-8 checked here: the parse that follows does it.
// *entries (when given) gets the entry count on success.
// REQUIRES: 1 <= context_field <= 2^29 - 1.
Status ScanContextMap(std::span<const uint8_t> wire, int context_field, const WireLimits& limits,
                      size_t* entries = nullptr);

}  // namespace ses::daemon
