// Big-endian integer encoding and bounds-checked reading of untrusted bytes.
//
// ByteReader never reads past its span: every Read* returns false when the
// input is too short, and the caller turns that into one error.
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ses::internal {

using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

void PutU8(std::vector<uint8_t>& out, uint8_t v);
void PutU16(std::vector<uint8_t>& out, uint16_t v);
void PutU32(std::vector<uint8_t>& out, uint32_t v);
void PutU64(std::vector<uint8_t>& out, uint64_t v);
void PutBytes(std::vector<uint8_t>& out, ByteView b);
void StoreU32(uint8_t* p, uint32_t v);
void StoreU64(uint8_t* p, uint64_t v);
uint32_t LoadU32(const uint8_t* p);

class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}
  bool ReadU8(uint8_t& v);
  bool ReadU16(uint16_t& v);
  bool ReadU32(uint32_t& v);
  bool ReadBytes(size_t n, ByteView& v);
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  ByteView in_;
  size_t pos_ = 0;
};

std::string HexEncode(ByteView b);
// For untrusted text (a key URI from a header) in an error message: control
// characters and non-ASCII bytes as \xNN, cut at `max` characters.
std::string Printable(std::string_view s, size_t max = 200);
// Returns false on odd length or a non-hex character.
bool HexDecode(std::string_view hex, std::vector<uint8_t>& out);

}  // namespace ses::internal
