// The pre-parse scan of batch and unary requests (daemon/service/wire_scan.h),
// checked against protobuf's own parser: random requests built with the
// generated classes (plus unknown fields and hand-written map entries) scan
// to the counts the parse gives, every truncation gets the parser's verdict,
// limits stop the scan where they are passed, and a 6 MiB request of 3
// million empty items is refused after reading only what the limit allows.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include "service/wire_scan.h"
#include "ses/v1/crypto.pb.h"

// Counts every operator new in this binary, so a test can show that a scan
// allocates nothing. Not inlined: GCC would otherwise pair the free() below
// with the `new` it was inlined beside and warn of a mismatch.
namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace
__attribute__((noinline)) void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ses::daemon {
namespace {

constexpr WireLimits kRoomy{.max_items = 1'000'000, .max_context_entries = 1'000'000, .max_context_bytes = 1 << 30};

std::span<const uint8_t> Bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// Hand-written wire bytes.
struct Wire {
  std::string out;
  Wire& Varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    return *this;
  }
  Wire& Tag(uint32_t field, uint32_t wire_type) { return Varint(uint64_t{field} << 3 | wire_type); }
  Wire& Len(uint32_t field, std::string_view payload) {
    Tag(field, 2).Varint(payload.size());
    out.append(payload);
    return *this;
  }
  Wire& Raw(std::string_view bytes) {
    out.append(bytes);
    return *this;
  }
};

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The encoded size of a map<string, string> entry as protobuf writes it.
size_t EntrySize(const std::string& k, const std::string& v) {
  return 1 + VarintSize(k.size()) + k.size() + 1 + VarintSize(v.size()) + v.size();
}

// Parses `wire` as the request `kind` names; the oracle for the scan.
struct Parsed {
  bool ok = false;
  size_t items = 0;
  size_t max_entries = 0;
  bool unknown_fields = false;  // kept by protobuf at the top or in an item
  bool hand_entry = false;      // a hand-written map entry ('#' key) arrived
};
Parsed Parse(BatchKind kind, std::string_view wire) {
  const google::protobuf::LogSilencer quiet;  // refused UTF-8 is expected here
  Parsed p;
  auto fill = [&p](const auto& req) {
    p.items = static_cast<size_t>(req.items_size());
    p.unknown_fields = req.GetReflection()->GetUnknownFields(req).field_count() > 0;
    for (const auto& item : req.items()) {
      p.max_entries = std::max(p.max_entries, item.context().size());
      p.unknown_fields |= item.GetReflection()->GetUnknownFields(item).field_count() > 0;
      for (const auto& [k, v] : item.context()) p.hand_entry |= k.starts_with("#");
    }
  };
  if (kind == BatchKind::kEncrypt) {
    v1::BatchEncryptRequest req;
    p.ok = req.ParseFromArray(wire.data(), static_cast<int>(wire.size()));
    if (p.ok) fill(req);
  } else {
    v1::BatchDecryptRequest req;
    p.ok = req.ParseFromArray(wire.data(), static_cast<int>(wire.size()));
    if (p.ok) fill(req);
  }
  return p;
}

// Random requests: items of random bytes and UTF-8 contexts, unknown fields
// (added through reflection and by hand) at every level, including inside
// map entries, and hand-written entries whose key and value come in either
// order.
class RandomRequests {
 public:
  explicit RandomRequests(uint32_t seed) : rng_(seed) {}

  struct Request {
    BatchKind kind;
    std::string wire;
    size_t items = 0;
    size_t max_entries = 0;
    size_t max_bytes = 0;
  };

  Request Make() {
    Request r;
    r.kind = Coin(2) ? BatchKind::kEncrypt : BatchKind::kDecrypt;
    if (r.kind == BatchKind::kEncrypt) {
      v1::BatchEncryptRequest top;
      top.set_keyring(Text(8));
      AddUnknown(&top);
      r.wire = top.SerializeAsString();
    } else {
      v1::BatchDecryptRequest top;
      AddUnknown(&top);
      r.wire = top.SerializeAsString();
    }
    const uint32_t items_field = r.kind == BatchKind::kEncrypt ? 2 : 1;
    r.items = Coin(8) ? 0 : Pick(12);
    for (size_t i = 0; i < r.items; ++i) {
      size_t entries = 0;
      size_t bytes = 0;
      std::string item = r.kind == BatchKind::kEncrypt ? Item<v1::BatchEncryptItem>(&entries, &bytes)
                                                       : Item<v1::BatchDecryptItem>(&entries, &bytes);
      Wire w;
      w.Len(items_field, item);
      if (Coin(4)) w.Tag(static_cast<uint32_t>(3 + Pick(100)), 5).Raw("abcd");  // unknown fixed32 between items
      r.wire += w.out;
      r.max_entries = std::max(r.max_entries, entries);
      r.max_bytes = std::max(r.max_bytes, bytes);
    }
    return r;
  }

 private:
  bool Coin(uint32_t one_in) { return std::uniform_int_distribution<uint32_t>(0, one_in - 1)(rng_) == 0; }
  size_t Pick(size_t below_or_equal) { return std::uniform_int_distribution<size_t>(0, below_or_equal)(rng_); }

  // UTF-8 of 1-, 2-, 3- and 4-byte characters, NUL included; never '#',
  // which starts only the hand-written keys.
  std::string Text(size_t max_chars) {
    static constexpr std::string_view kChars[] = {"a", "Z", "0", std::string_view("\0", 1), "\xC3\xA9",
                                                  "\xE2\x82\xAC", "\xEF\xBF\xBF", "\xF0\x9F\x98\x80",
                                                  "\xF4\x8F\xBF\xBF"};
    std::string s;
    for (size_t n = Pick(max_chars); n > 0; --n) s += kChars[Pick(std::size(kChars) - 1)];
    return s;
  }
  std::string Blob(size_t max_bytes) {
    std::string s(Pick(max_bytes), '\0');
    for (char& c : s) c = static_cast<char>(Pick(255));
    return s;
  }

  // Unknown fields of every wire type protobuf keeps. Length-delimited ones
  // use numbers no SES message declares; the others may reuse a declared
  // number, which protobuf then treats as unknown (wrong wire type).
  void AddUnknown(google::protobuf::Message* m) {
    google::protobuf::UnknownFieldSet* u = m->GetReflection()->MutableUnknownFields(m);
    for (size_t n = Pick(3); n > 0; --n) {
      const auto any_number = static_cast<int>(Coin(3) ? 1 + Pick(2) : (Coin(2) ? 536870911 : 3 + Pick(5000)));
      switch (Pick(3)) {
        case 0: u->AddVarint(any_number, Coin(2) ? Pick(300) : ~uint64_t{0}); break;
        case 1: u->AddFixed32(any_number, static_cast<uint32_t>(Pick(1u << 31))); break;
        case 2: u->AddFixed64(any_number, Pick(~size_t{0})); break;
        default: u->AddLengthDelimited(static_cast<int>(3 + Pick(5000)), Blob(20)); break;
      }
    }
  }

  template <typename ItemT>
  std::string Item(size_t* entries, size_t* bytes) {
    ItemT item;
    if (Coin(2)) {
      if constexpr (std::is_same_v<ItemT, v1::BatchEncryptItem>) {
        item.set_plaintext(Blob(40));
      } else {
        item.set_ciphertext(Blob(40));
      }
    }
    for (size_t n = Coin(4) ? 0 : Pick(8); n > 0; --n) (*item.mutable_context())[Text(6)] = Text(10);
    if (Coin(3)) AddUnknown(&item);
    *entries = item.context().size();
    *bytes = 0;
    for (const auto& [k, v] : item.context()) *bytes += EntrySize(k, v);
    std::string wire = item.SerializeAsString();
    // Hand-written entries: key '#n' (never a generated key), fields in
    // either order, unknown fields among them.
    for (size_t n = Coin(3) ? Pick(3) : 0; n > 0; --n) {
      const std::string key = "#" + std::to_string(hand_keys_++);
      const std::string value = Text(5);
      Wire entry;
      if (Coin(2)) entry.Len(2, value).Tag(9, 0).Varint(Pick(1000)).Len(1, key);
      else entry.Len(1, key).Len(30000, Blob(5)).Len(2, value).Tag(4, 1).Raw("12345678");
      wire += Wire().Len(2, entry.out).out;
      *entries += 1;
      *bytes += entry.out.size();
    }
    return wire;
  }

  std::mt19937 rng_;
  size_t hand_keys_ = 0;
};

TEST(WireScanTest, CountsMatchTheParseForRandomRequests) {
  // How many requests had each feature: the generator must exercise them.
  size_t encrypt = 0, with_items = 0, with_context = 0, with_unknown = 0, with_hand_entry = 0;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const RandomRequests::Request r = RandomRequests(seed).Make();
    const Parsed parsed = Parse(r.kind, r.wire);
    ASSERT_TRUE(parsed.ok);
    ASSERT_EQ(parsed.items, r.items);
    ASSERT_EQ(parsed.max_entries, r.max_entries);
    encrypt += r.kind == BatchKind::kEncrypt;
    with_items += r.items > 0;
    with_context += r.max_entries > 0;
    with_unknown += parsed.unknown_fields;
    with_hand_entry += parsed.hand_entry;

    WireCounts counts;
    const Status s = ScanBatchRequest(r.kind, Bytes(r.wire), kRoomy, &counts);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(counts.items, r.items);
    EXPECT_EQ(counts.max_item_context_entries, r.max_entries);
    EXPECT_EQ(counts.max_item_context_bytes, r.max_bytes);

    // Limits set exactly at the counts pass; one below any of them fails
    // with that limit's name.
    const WireLimits exact{.max_items = r.items,
                           .max_context_entries = r.max_entries,
                           .max_context_bytes = r.max_bytes};
    EXPECT_TRUE(ScanBatchRequest(r.kind, Bytes(r.wire), exact).ok());
    if (r.items > 0) {
      WireLimits fewer = exact;
      fewer.max_items -= 1;
      const Status t = ScanBatchRequest(r.kind, Bytes(r.wire), fewer);
      EXPECT_EQ(t.code(), StatusCode::kResourceExhausted);
      EXPECT_NE(t.message().find("server.max_batch_items"), std::string::npos) << t.message();
    }
    if (r.max_entries > 0) {
      WireLimits fewer = exact;
      fewer.max_context_entries -= 1;
      const Status t = ScanBatchRequest(r.kind, Bytes(r.wire), fewer);
      EXPECT_EQ(t.code(), StatusCode::kResourceExhausted);
      EXPECT_NE(t.message().find("max_context_entries"), std::string::npos) << t.message();
    }
    if (r.max_bytes > 0) {
      WireLimits fewer = exact;
      fewer.max_context_bytes -= 1;
      const Status t = ScanBatchRequest(r.kind, Bytes(r.wire), fewer);
      EXPECT_EQ(t.code(), StatusCode::kResourceExhausted);
      EXPECT_NE(t.message().find("max_context_bytes"), std::string::npos) << t.message();
    }
  }
  EXPECT_GT(encrypt, 100u);
  EXPECT_LT(encrypt, 300u);
  EXPECT_GT(with_items, 200u);
  EXPECT_GT(with_context, 150u);
  EXPECT_GT(with_unknown, 150u);
  EXPECT_GT(with_hand_entry, 50u);
  RecordProperty("requests_with_unknown_fields", static_cast<int>(with_unknown));
}

TEST(WireScanTest, EveryTruncationGetsTheParsersVerdict) {
  size_t accepted = 0;
  size_t refused = 0;
  for (uint32_t seed = 1000; seed < 1060; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const RandomRequests::Request r = RandomRequests(seed).Make();
    for (size_t n = 0; n < r.wire.size(); ++n) {
      SCOPED_TRACE("prefix " + std::to_string(n) + " of " + std::to_string(r.wire.size()));
      // A copy of exactly n bytes, so the sanitizers see any read past it.
      const std::string prefix = r.wire.substr(0, n);
      WireCounts counts;
      const Status s = ScanBatchRequest(r.kind, Bytes(prefix), kRoomy, &counts);
      const Parsed parsed = Parse(r.kind, prefix);
      ASSERT_EQ(s.ok(), parsed.ok) << s.ToString();
      if (s.ok()) {
        ++accepted;
        EXPECT_EQ(counts.items, parsed.items);
        EXPECT_EQ(counts.max_item_context_entries, parsed.max_entries);
      } else {
        ++refused;
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
        EXPECT_TRUE(s.message().starts_with("malformed request: ")) << s.message();
      }
    }
  }
  // Both verdicts happened (cuts between top-level fields parse).
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(refused, 0u);
}

TEST(WireScanTest, ContextKeysAndValuesAreCheckedAsUtf8LikeTheParser) {
  const std::string_view cases[] = {
      "plain", std::string_view("nul\0inside", 10), "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
      "\xF4\x8F\xBF\xBF",  // U+10FFFF: the last code point
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong
      "\xE0\x80\x80",      // overlong
      "\xED\xA0\x80",      // surrogate
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80", "\x80", "\xC3", "\xE2\x82", "\xFF", "ok\xC3(",
  };
  for (std::string_view text : cases) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    for (int where = 0; where < 3; ++where) {  // as key, as value, as keyring
      Wire entry;
      entry.Len(1, where == 0 ? text : "k").Len(2, where == 1 ? text : "v");
      Wire item;
      item.Len(2, entry.out);
      Wire req;
      req.Len(1, where == 2 ? text : "ring").Len(2, item.out);
      const Status s = ScanBatchRequest(BatchKind::kEncrypt, Bytes(req.out), kRoomy);
      EXPECT_EQ(s.ok(), Parse(BatchKind::kEncrypt, req.out).ok) << where << " " << s.ToString();
      if (!s.ok()) {
        EXPECT_NE(s.message().find("not UTF-8"), std::string::npos) << s.message();
      }
    }
  }
}

// Each malformed form, alone in an otherwise valid request.
TEST(WireScanTest, MalformedBytesAreRefusedWithTheirFault) {
  struct Case {
    const char* name;
    std::string wire;
    const char* fault;
    bool last = false;  // a truncation: nothing may follow it
  };
  const std::string entry = Wire().Len(1, "k").Len(2, "v").out;
  const std::string item = Wire().Len(2, Wire().Len(1, "p").Len(2, entry).out).out;
  const Case cases[] = {
      {"field number 0", Wire().Tag(0, 0).Varint(1).out, "field number 0"},
      {"start group", Wire().Tag(7, 3).Tag(7, 4).out, "group"},
      {"end group", Wire().Tag(7, 4).out, "group"},
      {"wire type 6", Wire().Tag(7, 6).out, "wire type 6 or 7"},
      {"wire type 7", Wire().Tag(7, 7).out, "wire type 6 or 7"},
      {"11-byte varint", Wire().Tag(7, 0).Raw("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01").out, "longer than 10"},
      {"truncated varint", Wire().Tag(7, 0).Raw("\xFF\xFF").out, "truncated varint", true},
      {"tag above 32 bits", Wire().Raw("\xF8\xFF\xFF\xFF\x1F").Varint(0).out, "tag above 32 bits"},
      {"6-byte tag", Wire().Raw("\x88\x80\x80\x80\x80\x00").Varint(0).out, "longer than 5"},
      {"6-byte length", Wire().Tag(7, 2).Raw("\x80\x80\x80\x80\x80\x00").out, "longer than 5"},
      {"length past the end", Wire().Tag(7, 2).Varint(5).Raw("abcd").out, "length past the end", true},
      {"huge length", Wire().Tag(7, 2).Raw("\xFF\xFF\xFF\xFF\x07").out, "length past the end"},
      {"truncated fixed64", Wire().Tag(7, 1).Raw("1234567").out, "truncated fixed-width", true},
      {"truncated fixed32", Wire().Tag(7, 5).Raw("123").out, "truncated fixed-width", true},
      {"item overruns the request", Wire().Tag(2, 2).Varint(item.size() + 1).Raw(item).out, "length past the end", true},
      {"entry field overruns its entry",
       Wire().Len(2, Wire().Tag(2, 2).Varint(4).Raw(Wire().Tag(1, 2).Varint(3).Raw("k").out).Raw("xyz").out).out,
       "length past the end"},
      {"group inside a map entry", Wire().Len(2, Wire().Len(2, Wire().Tag(5, 3).Tag(5, 4).out).out).out, "group"},
      {"tag 0 inside an item", Wire().Len(2, Wire().Raw(std::string_view("\0\0", 2)).out).out, "field number 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // Valid items around the fault, so it is found mid-request.
    const std::string wire = item + c.wire + (c.last ? "" : item);
    const Status s = ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), kRoomy);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(s.message().starts_with("malformed request: ")) << s.message();
    EXPECT_NE(s.message().find(c.fault), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(" at byte "), std::string::npos) << s.message();
  }
}

TEST(WireScanTest, ProtobufAcceptsGroupsTheScanRefuses) {
  // The one deliberate difference that a real parser accepts: SES's protos
  // declare no groups, so an unknown group is refused rather than walked.
  const std::string wire = Wire().Tag(9, 3).Tag(1, 0).Varint(5).Tag(9, 4).out;
  EXPECT_TRUE(Parse(BatchKind::kDecrypt, wire).ok);
  EXPECT_EQ(ScanBatchRequest(BatchKind::kDecrypt, Bytes(wire), kRoomy).code(), StatusCode::kInvalidArgument);
}

TEST(WireScanTest, ItemFieldWithAnotherWireTypeIsAnUnknownField) {
  // Field 2 as a varint is not an item, for protobuf or the scan.
  const std::string wire = Wire().Tag(2, 0).Varint(7).Tag(2, 5).Raw("abcd").out;
  WireCounts counts;
  ASSERT_TRUE(ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), kRoomy, &counts).ok());
  EXPECT_EQ(counts.items, 0u);
  const Parsed parsed = Parse(BatchKind::kEncrypt, wire);
  ASSERT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.items, 0u);
}

TEST(WireScanTest, KindsUseTheirOwnItemField) {
  // Two BatchDecryptRequest items (field 1): for BatchEncryptRequest field
  // 1 is the keyring, which these bytes are not valid UTF-8 for.
  v1::BatchDecryptRequest dec;
  dec.add_items()->set_ciphertext(std::string("\xFF\xFE", 2));
  (*dec.add_items()->mutable_context())["a"] = "b";
  const std::string wire = dec.SerializeAsString();
  WireCounts counts;
  ASSERT_TRUE(ScanBatchRequest(BatchKind::kDecrypt, Bytes(wire), kRoomy, &counts).ok());
  EXPECT_EQ(counts.items, 2u);
  EXPECT_EQ(counts.max_item_context_entries, 1u);
  EXPECT_FALSE(ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), kRoomy).ok());
  EXPECT_FALSE(Parse(BatchKind::kEncrypt, wire).ok);
}

TEST(WireScanTest, EmptyRequestHasNoItems) {
  WireCounts counts{.items = 9, .max_item_context_entries = 9, .max_item_context_bytes = 9};
  ASSERT_TRUE(ScanBatchRequest(BatchKind::kEncrypt, {}, {.max_items = 0}, &counts).ok());
  EXPECT_EQ(counts.items, 0u);
  EXPECT_EQ(counts.max_item_context_entries, 0u);
}

TEST(WireScanTest, ContextLimitNamesTheItem) {
  v1::BatchEncryptRequest req;
  req.add_items();
  req.add_items();
  auto& ctx = *req.add_items()->mutable_context();
  for (int i = 0; i < 5; ++i) ctx["k" + std::to_string(i)] = "v";
  const std::string wire = req.SerializeAsString();
  const Status s = ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), {.max_items = 10, .max_context_entries = 4});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "batch item 2: context has more than 4 entries (max_context_entries)");
}

TEST(WireScanTest, FailedScanLeavesCountsAlone) {
  const std::string wire = Wire().Len(2, "").Len(2, "").Tag(7, 7).out;
  WireCounts counts{.items = 42};
  EXPECT_FALSE(ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), kRoomy, &counts).ok());
  EXPECT_EQ(counts.items, 42u);
}

TEST(WireScanTest, LimitStopsTheScanBeforeLaterMalformedBytes) {
  // Three items, then bytes that are not protobuf: with max_items = 2 the
  // scan stops at the third item and never reaches them.
  const std::string wire = Wire().Len(2, "").Len(2, "").Len(2, "").Raw("\xFF\xFF\xFF").out;
  const Status s = ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), {.max_items = 2});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "batch has more than 2 items (server.max_batch_items): split it");
  EXPECT_EQ(ScanBatchRequest(BatchKind::kEncrypt, Bytes(wire), {.max_items = 3}).code(), StatusCode::kInvalidArgument);
}

// 6 MiB of empty items: 3,145,728 of them, ~480 MB once parsed. The scan
// reads only the bytes before the limit: everything past the first 64 KiB
// is made unreadable, so reading further would crash the test.
TEST(WireScanTest, ThreeMillionEmptyItemsAreRefusedAfterTheLimit) {
  constexpr size_t kSize = 6 << 20;
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* map = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* bytes = static_cast<uint8_t*>(map);
  for (size_t i = 0; i < kSize; i += 2) {
    bytes[i] = 0x12;  // field 2, length-delimited
    bytes[i + 1] = 0x00;
  }
  const std::span<const uint8_t> wire(bytes, kSize);

  // All of it, with room for every item: valid, counted, nothing allocated.
  WireCounts counts;
  size_t before = g_allocations.load();
  ASSERT_TRUE(ScanBatchRequest(BatchKind::kEncrypt, wire, {.max_items = 4'000'000}, &counts).ok());
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(counts.items, kSize / 2);
  EXPECT_EQ(counts.max_item_context_entries, 0u);

  const size_t readable = (64 * 1024 + page - 1) / page * page;
  ASSERT_EQ(mprotect(bytes + readable, kSize - readable, PROT_NONE), 0);
  before = g_allocations.load();
  const Status s = ScanBatchRequest(BatchKind::kEncrypt, wire, {.max_items = 10'000});
  const size_t allocations = g_allocations.load() - before;
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("server.max_batch_items"), std::string::npos);
  EXPECT_LE(allocations, 4u) << "only the error message may allocate";
  munmap(map, kSize);
}

TEST(WireScanTest, ScanOfAValidBatchAllocatesNothing) {
  const RandomRequests::Request r = RandomRequests(7).Make();
  WireCounts counts;
  const size_t before = g_allocations.load();
  const Status s = ScanBatchRequest(r.kind, Bytes(r.wire), kRoomy, &counts);
  const size_t allocations = g_allocations.load() - before;
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(allocations, 0u);
}

TEST(WireScanTest, ContextMapOfUnaryRequests) {
  v1::EncryptRequest enc;
  enc.set_keyring("ring");
  enc.set_plaintext(std::string(100, 'p'));
  for (int i = 0; i < 3; ++i) (*enc.mutable_context())["k" + std::to_string(i)] = "value";
  const std::string wire = enc.SerializeAsString();
  size_t entries = 0;
  ASSERT_TRUE(ScanContextMap(Bytes(wire), 2, {.max_items = 0}, &entries).ok());
  EXPECT_EQ(entries, 3u);

  const Status s = ScanContextMap(Bytes(wire), 2, {.max_items = 0, .max_context_entries = 2});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "the context has more than 2 entries (max_context_entries)");
  // Each entry "kN" -> "value" is 11 bytes.
  EXPECT_TRUE(ScanContextMap(Bytes(wire), 2, {.max_items = 0, .max_context_bytes = 33}).ok());
  EXPECT_EQ(ScanContextMap(Bytes(wire), 2, {.max_items = 0, .max_context_bytes = 32}).code(),
            StatusCode::kResourceExhausted);

  // DecryptStreamStart keeps its context in field 1.
  v1::DecryptStreamStart start;
  (*start.mutable_context())["a"] = "b";
  (*start.mutable_context())["c"] = "d";
  const std::string start_wire = start.SerializeAsString();
  ASSERT_TRUE(ScanContextMap(Bytes(start_wire), 1, {.max_items = 0}, &entries).ok());
  EXPECT_EQ(entries, 2u);

  // Structure is checked everywhere, not only in the context.
  const std::string bad = wire + Wire().Tag(3, 2).Varint(9).out;
  EXPECT_EQ(ScanContextMap(Bytes(bad), 2, {.max_items = 0}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ses::daemon
