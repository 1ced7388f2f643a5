// SecretBytes: the only container SES keeps key material in.
//
// Memory is wiped with OPENSSL_cleanse when freed or reallocated, the type is
// move-only (no silent copies of keys), and equality is constant-time. Never
// convert to std::string; never log.
//
// Thread safety: like std::vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <openssl/crypto.h>

namespace ses {

namespace internal {
// Header-only so plugins can hold secrets without linking the core.
inline void Cleanse(void* p, size_t n) {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}
inline bool ConstantTimeEquals(const uint8_t* a, const uint8_t* b, size_t n) {
  return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

template <typename T>
struct ZeroisingAllocator {
  using value_type = T;
  ZeroisingAllocator() = default;
  template <typename U>
  ZeroisingAllocator(const ZeroisingAllocator<U>&) {}  // NOLINT
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) {
    Cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const ZeroisingAllocator<U>&) const { return true; }
};
}  // namespace internal

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : bytes_(n) {}
  SecretBytes(const uint8_t* data, size_t n) : bytes_(data, data + n) {}
  explicit SecretBytes(std::span<const uint8_t> s) : bytes_(s.begin(), s.end()) {}

  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) noexcept = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy, for the rare place that must keep two.
  SecretBytes Clone() const { return SecretBytes(data(), size()); }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void resize(size_t n) { bytes_.resize(n); }
  // Wipes the contents and releases nothing; resize(0) keeps capacity.
  void clear() { internal::Cleanse(bytes_.data(), bytes_.size()); bytes_.clear(); }
  std::span<const uint8_t> span() const { return {data(), size()}; }
  std::span<uint8_t> span() { return {data(), size()}; }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    return a.size() == b.size() && internal::ConstantTimeEquals(a.data(), b.data(), a.size());
  }

 private:
  std::vector<uint8_t, internal::ZeroisingAllocator<uint8_t>> bytes_;
};

}  // namespace ses
