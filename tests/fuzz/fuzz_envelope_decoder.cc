// libFuzzer target: the envelope v1 header decoder and frame parser, fed
// arbitrary bytes. Beyond "no crash, no sanitizer report", it checks that a
// header the decoder accepts re-encodes to exactly the same bytes (one
// message, one encoding).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/message.h"
#include "envelope/format.h"

using namespace ses::internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  auto header_size = DecodeHeaderSize(in);
  if (!header_size.ok() || *header_size > size) return 0;
  auto h = DecodeHeader(in.first(*header_size));
  if (!h.ok()) return 0;

  auto again = EncodeHeaderBody(*h);
  const size_t body = *header_size - kHeaderTagSize;
  if (again.size() != body || std::memcmp(again.data(), data, body) != 0) __builtin_trap();

  // Walk the body's frames as the decryptor would, without keys.
  ByteView rest = in.subspan(*header_size);
  for (int frames = 0; frames < 1 << 20; ++frames) {
    FrameRef f;
    if (ParseFrame(rest, h->frame_size, h->tag.size(), f) != FrameParse::kFrame) break;
    if (f.consumed > rest.size() || f.sealed.size() != f.length + h->tag.size()) __builtin_trap();
    rest = rest.subspan(f.consumed);
    if (f.type == kFrameFinal) break;
  }
  return 0;
}
