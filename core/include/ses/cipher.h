// Cipher: AEAD suites behind an interface, so the engine never names an
// algorithm and a FIPS or hardware build can swap the implementation.
//
// An AeadContext is reusable: SetKey once per message, then Seal/Open frames.
// It allocates nothing per call. One thread uses a context at a time.
//
// Open never returns plaintext whose tag failed: on failure the caller wipes
// `out` and reports only "authentication failed".
//
// Thread safety: CipherProvider is thread-safe; AeadContext is not.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ses/status.h"

namespace ses {

inline constexpr size_t kAeadNonceSize = 12;
using AeadNonce = std::array<uint8_t, kAeadNonceSize>;

struct SuiteInfo {
  uint16_t id = 0;
  std::string name;
  uint32_t key_len = 0;
  uint32_t tag_len = 0;
};

class AeadContext {
 public:
  virtual ~AeadContext() = default;
  virtual size_t TagLength() const = 0;
  virtual Status SetKey(std::span<const uint8_t> key) = 0;
  // out.size() == in.size() + tag_len: ciphertext then tag.
  virtual Status Seal(const AeadNonce& nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> in, std::span<uint8_t> out) = 0;
  // in is ciphertext then tag; out.size() >= in.size(); writes in.size() - tag_len.
  virtual Status Open(const AeadNonce& nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> in, std::span<uint8_t> out) = 0;
};

class CipherProvider {
 public:
  virtual ~CipherProvider() = default;
  virtual std::vector<SuiteInfo> Suites() const = 0;
  virtual StatusOr<std::unique_ptr<AeadContext>> NewAead(uint16_t suite_id) = 0;
};

}  // namespace ses
