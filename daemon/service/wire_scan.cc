#include "service/wire_scan.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace ses::daemon {
namespace {

// Wire types (protobuf encoding spec). 3 and 4 open and close a group.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kStartGroup = 3;
constexpr uint32_t kEndGroup = 4;
constexpr uint32_t kFixed32 = 5;

// Protobuf's parser reads a tag as at most 5 bytes and a length as at most
// 5 bytes; it keeps sizes a little under 2^31 (it takes an int and keeps
// room for its slop bytes), so a larger buffer cannot parse at all.
constexpr int kMaxTagBytes = 5;
constexpr int kMaxLengthBytes = 5;
constexpr int kMaxVarintBytes = 10;
constexpr size_t kMaxWireBytes = (size_t{1} << 31) - 64;

// Map entries: key = 1, value = 2, both strings in SES's maps.
constexpr uint32_t kMapKeyField = 1;
constexpr uint32_t kMapValueField = 2;

// Well-formed UTF-8 as Unicode defines it (table 3-7): no overlong forms,
// no surrogates, nothing above U+10FFFF. Protobuf refuses a proto3 string
// that is not.
bool IsUtf8(const uint8_t* p, const uint8_t* end) {
  while (p != end) {
    const uint8_t b = *p;
    if (b < 0x80) {
      ++p;
      continue;
    }
    size_t tail;            // continuation bytes after the lead byte
    uint8_t lo = 0x80;      // the range of the first continuation byte,
    uint8_t hi = 0xBF;      // narrowed where overlongs or surrogates start
    if (b >= 0xC2 && b <= 0xDF) {
      tail = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      tail = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      tail = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= tail) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i <= tail; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += tail + 1;
  }
  return true;
}

enum class Stop { kNone, kMalformed, kTooLarge, kItems, kContextEntries, kContextBytes };

// One scan of one buffer: the walk, the limits it checks and the first
// reason it stopped. Pointers all lie within the buffer.
class Scanner {
 public:
  Scanner(std::span<const uint8_t> wire, const WireLimits& limits)
      : begin_(wire.data()), end_(wire.data() + wire.size()), limits_(limits) {}

  const uint8_t* begin() const { return begin_; }
  const uint8_t* end() const { return end_; }

  // Walks the fields of the message in [p, end): checks and skips every
  // field that is not length-delimited, and calls
  // on_field(field_number, payload_begin, payload_end) for each one that is.
  // False when the bytes are malformed or on_field returns false.
  template <typename OnField>
  bool Fields(const uint8_t* p, const uint8_t* end, OnField&& on_field) {
    while (p != end) {
      const uint8_t* const field_start = p;
      uint64_t tag = 0;
      if (!Varint(&p, end, kMaxTagBytes, &tag)) return false;
      if (tag > UINT32_MAX) return Malformed("tag above 32 bits", field_start);
      const auto field = static_cast<uint32_t>(tag >> 3);
      const auto wire_type = static_cast<uint32_t>(tag & 7);
      if (field == 0) return Malformed("field number 0", field_start);
      switch (wire_type) {
        case kVarint: {
          uint64_t ignored = 0;
          if (!Varint(&p, end, kMaxVarintBytes, &ignored)) return false;
          break;
        }
        case kFixed64:
        case kFixed32: {
          const size_t width = wire_type == kFixed64 ? 8 : 4;
          if (static_cast<size_t>(end - p) < width) return Malformed("truncated fixed-width field", field_start);
          p += width;
          break;
        }
        case kLengthDelimited: {
          const uint8_t* const length_at = p;
          uint64_t length = 0;
          if (!Varint(&p, end, kMaxLengthBytes, &length)) return false;
          if (length > static_cast<uint64_t>(end - p)) {
            return Malformed("length past the end of its message", length_at);
          }
          const uint8_t* const payload = p;
          p += length;
          if (!on_field(field, payload, p)) return false;
          break;
        }
        case kStartGroup:
        case kEndGroup:
          return Malformed("group (wire type 3 or 4)", field_start);
        default:
          return Malformed("wire type 6 or 7", field_start);
      }
    }
    return true;
  }

  // The context map of one message, field `context_field`: counts its
  // entries and their bytes against the limits, and checks each entry's
  // key and value are UTF-8.
  bool Context(const uint8_t* p, const uint8_t* end, uint32_t context_field, size_t* entries, size_t* bytes) {
    return Fields(p, end, [&](uint32_t field, const uint8_t* entry, const uint8_t* entry_end) {
      if (field != context_field) return true;
      if (++*entries > limits_.max_context_entries) return Exceeded(Stop::kContextEntries);
      *bytes += static_cast<size_t>(entry_end - entry);
      if (*bytes > limits_.max_context_bytes) return Exceeded(Stop::kContextBytes);
      return Fields(entry, entry_end, [&](uint32_t f, const uint8_t* s, const uint8_t* s_end) {
        if ((f == kMapKeyField || f == kMapValueField) && !IsUtf8(s, s_end)) {
          return Malformed("context key or value is not UTF-8", s);
        }
        return true;
      });
    });
  }

  bool Malformed(const char* what, const uint8_t* at) {
    stop_ = Stop::kMalformed;
    what_ = what;
    at_ = static_cast<size_t>(at - begin_);
    return false;
  }
  bool Exceeded(Stop stop) {
    stop_ = stop;
    return false;
  }

  // Batch scans name the item a context limit was passed in (0-based).
  void set_item(size_t index) { item_ = index; }

  Status Result() const {
    // Built only on failure: a scan that passes allocates nothing.
    auto where = [this] {
      return item_ == kNoItem ? std::string("the context") : "batch item " + std::to_string(item_) + ": context";
    };
    switch (stop_) {
      case Stop::kNone:
        return OkStatus();
      case Stop::kMalformed:
        return InvalidArgumentError("malformed request: " + std::string(what_) + " at byte " + std::to_string(at_));
      case Stop::kTooLarge:
        return ResourceExhaustedError("request is larger than protobuf's limit of 2 GiB");
      case Stop::kItems:
        return ResourceExhaustedError("batch has more than " + std::to_string(limits_.max_items) +
                                      " items (server.max_batch_items): split it");
      case Stop::kContextEntries:
        return ResourceExhaustedError(where() + " has more than " + std::to_string(limits_.max_context_entries) +
                                      " entries (max_context_entries)");
      case Stop::kContextBytes:
        return ResourceExhaustedError(where() + " is more than " + std::to_string(limits_.max_context_bytes) +
                                      " bytes (max_context_bytes)");
    }
    return InternalError("wire scan: unknown stop");
  }

 private:
  static constexpr size_t kNoItem = SIZE_MAX;

  // Reads a varint of at most max_bytes; bits past 64 are dropped, as
  // protobuf drops them.
  bool Varint(const uint8_t** p, const uint8_t* end, int max_bytes, uint64_t* value) {
    const uint8_t* const start = *p;
    uint64_t v = 0;
    const uint8_t* q = start;
    for (int i = 0; i < max_bytes; ++i) {
      if (q == end) return Malformed("truncated varint", start);
      const uint8_t b = *q++;
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) {
        *p = q;
        *value = v;
        return true;
      }
    }
    return Malformed(max_bytes == kMaxVarintBytes ? "varint longer than 10 bytes"
                                                  : "tag or length longer than 5 bytes",
                     start);
  }

  const uint8_t* const begin_;
  const uint8_t* const end_;
  const WireLimits& limits_;
  Stop stop_ = Stop::kNone;
  const char* what_ = "";
  size_t at_ = 0;
  size_t item_ = kNoItem;
};

}  // namespace

Status ScanBatchRequest(BatchKind kind, std::span<const uint8_t> wire, const WireLimits& limits, WireCounts* counts) {
  Scanner scan(wire, limits);
  if (wire.size() > kMaxWireBytes) {
    scan.Exceeded(Stop::kTooLarge);
    return scan.Result();
  }
  // Field numbers from proto/ses/v1/crypto.proto.
  const uint32_t items_field = kind == BatchKind::kEncrypt ? 2 : 1;
  constexpr uint32_t kKeyringField = 1;  // BatchEncryptRequest only
  constexpr uint32_t kItemContextField = 2;

  WireCounts seen;
  scan.Fields(scan.begin(), scan.end(), [&](uint32_t field, const uint8_t* p, const uint8_t* end) {
    if (field == items_field) {
      if (++seen.items > limits.max_items) return scan.Exceeded(Stop::kItems);
      scan.set_item(seen.items - 1);
      size_t entries = 0;
      size_t bytes = 0;
      if (!scan.Context(p, end, kItemContextField, &entries, &bytes)) return false;
      seen.max_item_context_entries = std::max(seen.max_item_context_entries, entries);
      seen.max_item_context_bytes = std::max(seen.max_item_context_bytes, bytes);
      return true;
    }
    if (kind == BatchKind::kEncrypt && field == kKeyringField && !IsUtf8(p, end)) {
      return scan.Malformed("keyring is not UTF-8", p);
    }
    return true;
  });
  Status result = scan.Result();
  if (result.ok() && counts != nullptr) *counts = seen;
  return result;
}

Status ScanContextMap(std::span<const uint8_t> wire, int context_field, const WireLimits& limits, size_t* entries) {
  assert(context_field >= 1 && context_field <= (1 << 29) - 1);
  Scanner scan(wire, limits);
  if (wire.size() > kMaxWireBytes) {
    scan.Exceeded(Stop::kTooLarge);
    return scan.Result();
  }
  size_t seen = 0;
  size_t bytes = 0;
  scan.Context(scan.begin(), scan.end(), static_cast<uint32_t>(context_field), &seen, &bytes);
  Status result = scan.Result();
  if (result.ok() && entries != nullptr) *entries = seen;
  return result;
}

}  // namespace ses::daemon
