// Helpers for the TLS tests: a temp directory, whole-file I/O, and
// certificates the dev PKI would never make (expired, self-signed).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace ses::tls::testing {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);
// Writes via a temp file and rename, so a watcher never sees half a file.
void WriteFile(const std::filesystem::path& path, const std::string& contents, mode_t mode = 0600);
mode_t ModeOf(const std::filesystem::path& path);

// Writes a self-signed EC P-256 certificate and its key whose validity ended
// `days_ago` days ago (notBefore a year before that).
void WriteExpiredCert(const std::filesystem::path& cert, const std::filesystem::path& key, int days_ago);

// Writes an unencrypted key (if `encrypted` is false) or a PKCS#8 key
// encrypted under a passphrase.
void WriteNewKey(const std::filesystem::path& key, bool encrypted);

}  // namespace ses::tls::testing
