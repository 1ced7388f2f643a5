// KeyfileProvider: master keys kept in files on disk, named keyfile://PATH.
//
// FOR DEVELOPMENT AND TESTS ONLY, not for production secrets: the keys sit
// unencrypted on disk, guarded only by file permissions.
//
// A relative PATH resolves against the `dir` config key (default: the working
// directory when the provider was created). Each file holds every version of
// one master key (format in key_file.h) and must be mode 0600 or stricter.
// Data keys are wrapped with AES-256 key wrap with padding (RFC 5649) under
// the current version. `aad` is ignored: RFC 5649 cannot bind it, and the
// envelope's header tag already authenticates the encryption context.
//
// Parsed key files are cached in memory and re-read when the file's inode,
// size or times change, so a rotation by another process is seen. RotateKey
// holds flock(2) on the key file, so concurrent rotations lose no version.
//
// Thread safety: every method may be called from many threads at once.
// Ownership: the provider owns its cache and the fetched cipher; returned
// data keys belong to the caller.
#pragma once

#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <openssl/types.h>

#include "ses/key_provider.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses::keyfile {

class KeyfileProvider final : public KeyProvider {
 public:
  static constexpr const char* kUriSchemes = "keyfile";
  static constexpr size_t kMinDataKeyBytes = 16;
  static constexpr size_t kMaxDataKeyBytes = 1024;
  static constexpr size_t kMaxWrappedBytes = 2048;

  // Config: `dir` (optional) must name an existing directory.
  static StatusOr<std::unique_ptr<KeyfileProvider>> Create(const PluginConfig& config);

  ~KeyfileProvider() override;
  KeyfileProvider(const KeyfileProvider&) = delete;
  KeyfileProvider& operator=(const KeyfileProvider&) = delete;

  std::vector<std::string> UriSchemes() const override { return {kUriSchemes}; }
  StatusOr<WrappedKey> Wrap(std::string_view key_uri, std::span<const uint8_t> data_key,
                            std::span<const uint8_t> aad) override;
  StatusOr<SecretBytes> Unwrap(std::string_view key_uri, std::string_view key_version,
                               std::span<const uint8_t> wrapped,
                               std::span<const uint8_t> aad) override;
  StatusOr<std::string> CreateKey(std::string_view key_uri) override;
  StatusOr<std::string> RotateKey(std::string_view key_uri) override;
  StatusOr<std::vector<std::string>> ListVersions(std::string_view key_uri) override;
  Status Health() override;

 private:
  struct CachedKey;
  struct CipherFree {
    void operator()(EVP_CIPHER* c) const;
  };

  KeyfileProvider(std::string dir, std::unique_ptr<EVP_CIPHER, CipherFree> cipher);

  // keyfile://PATH -> the file's path, `dir_` applied.
  StatusOr<std::string> ResolvePath(std::string_view key_uri) const;
  // The parsed file at `path`, from the cache while the file is unchanged.
  StatusOr<std::shared_ptr<const CachedKey>> Load(const std::string& path);
  // Runs the wrap cipher one way; false on any failure (caller says what).
  bool RunCipher(bool wrap, const SecretBytes& kek, std::span<const uint8_t> in, uint8_t* out,
                 size_t& out_len) const;

  const std::string dir_;
  // Fetched once: fetching per call costs a provider lookup and a lock.
  const std::unique_ptr<EVP_CIPHER, CipherFree> wrap_cipher_;

  std::shared_mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<const CachedKey>> cache_;  // by path
};

}  // namespace ses::keyfile
