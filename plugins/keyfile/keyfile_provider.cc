#include "keyfile_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "file_io.h"
#include "key_file.h"

namespace ses::keyfile {
namespace {

constexpr std::string_view kUriPrefix = "keyfile://";

// The URI as it may appear in a message: control bytes (a NUL would cut the
// C error string short) become '?'.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

StatusOr<SecretBytes> RandomMasterKey() {
  SecretBytes key(kMasterKeyBytes);
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    ERR_clear_error();
    return InternalError("keyfile: RAND_bytes failed");
  }
  return key;
}

}  // namespace

struct KeyfileProvider::CachedKey {
  FileIdentity id;
  KeyFile file;
};

void KeyfileProvider::CipherFree::operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }

KeyfileProvider::KeyfileProvider(std::string dir, std::unique_ptr<EVP_CIPHER, CipherFree> cipher)
    : dir_(std::move(dir)), wrap_cipher_(std::move(cipher)) {}

KeyfileProvider::~KeyfileProvider() = default;

StatusOr<std::unique_ptr<KeyfileProvider>> KeyfileProvider::Create(const PluginConfig& config) {
  for (const auto& entry : config) {
    if (entry.first != "dir") {
      return InvalidArgumentError("keyfile: unknown config key '" + Printable(entry.first) + "'");
    }
  }
  std::error_code ec;
  std::filesystem::path dir;
  if (auto it = config.find("dir"); it != config.end()) {
    if (it->second.empty()) return InvalidArgumentError("keyfile: config key 'dir' is empty");
    struct stat st;
    if (::stat(it->second.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        return NotFoundError("keyfile: key directory " + it->second + " does not exist");
      }
      return ErrnoStatus(errno, "stat key directory", it->second);
    }
    if (!S_ISDIR(st.st_mode)) {
      return InvalidArgumentError("keyfile: key directory " + it->second + " is not a directory");
    }
    // Absolute now, so a later chdir by the host cannot move the keys.
    dir = std::filesystem::absolute(it->second, ec);
  } else {
    dir = std::filesystem::current_path(ec);
  }
  if (ec) return InternalError("keyfile: cannot resolve the key directory: " + ec.message());

  std::unique_ptr<EVP_CIPHER, CipherFree> cipher(
      EVP_CIPHER_fetch(nullptr, "AES-256-WRAP-PAD", nullptr));
  if (cipher == nullptr) {
    ERR_clear_error();
    return InternalError("keyfile: OpenSSL provides no AES-256-WRAP-PAD");
  }
  return std::unique_ptr<KeyfileProvider>(new KeyfileProvider(dir.string(), std::move(cipher)));
}

StatusOr<std::string> KeyfileProvider::ResolvePath(std::string_view key_uri) const {
  if (!key_uri.starts_with(kUriPrefix) || key_uri.size() == kUriPrefix.size() ||
      key_uri.find('\0') != std::string_view::npos) {
    return InvalidArgumentError("keyfile: bad key URI '" + Printable(key_uri) +
                                "': expected keyfile://PATH");
  }
  std::string_view path = key_uri.substr(kUriPrefix.size());
  if (path.front() == '/') return std::string(path);
  return dir_ + "/" + std::string(path);
}

StatusOr<std::shared_ptr<const KeyfileProvider::CachedKey>> KeyfileProvider::Load(
    const std::string& path) {
  // One stat per call is the price of seeing other processes' rotations; it
  // also re-checks the mode, so a file made readable stops being served.
  struct stat st;
  SES_RETURN_IF_ERROR(StatKeyFile(path, st));
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second->id == FileIdentity::Of(st)) return it->second;
  }
  SES_ASSIGN_OR_RETURN(UniqueFd fd, OpenKeyFile(path, st));
  SES_ASSIGN_OR_RETURN(SecretBytes text, ReadAll(fd.get(), path));
  SES_ASSIGN_OR_RETURN(KeyFile file, ParseKeyFile(path, text.span()));
  // The identity comes from the fstat taken before reading: if the file
  // changes meanwhile, the next call sees a mismatch and reads it again.
  auto entry = std::make_shared<const CachedKey>(CachedKey{FileIdentity::Of(st), std::move(file)});
  std::unique_lock lock(cache_mu_);
  cache_[path] = entry;
  return entry;
}

bool KeyfileProvider::RunCipher(bool wrap, const SecretBytes& kek, std::span<const uint8_t> in,
                                uint8_t* out, size_t& out_len) const {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  int len = 0;
  int final_len = 0;
  bool ok = ctx != nullptr;
  if (ok) {
    // Key-wrap modes refuse to initialise without this opt-in flag.
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = EVP_CipherInit_ex2(ctx.get(), wrap_cipher_.get(), kek.data(), nullptr, wrap ? 1 : 0,
                            nullptr) == 1 &&
         EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1 &&
         EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) == 1;
  }
  // Leave nothing in this thread's error queue for the next OpenSSL caller.
  if (!ok) ERR_clear_error();
  out_len = ok ? static_cast<size_t>(len + final_len) : 0;
  return ok;
}

StatusOr<WrappedKey> KeyfileProvider::Wrap(std::string_view key_uri,
                                           std::span<const uint8_t> data_key,
                                           std::span<const uint8_t> /*aad*/) {
  if (data_key.size() < kMinDataKeyBytes || data_key.size() > kMaxDataKeyBytes) {
    return InvalidArgumentError("keyfile: data key is " + std::to_string(data_key.size()) +
                                " bytes; expected 16 to 1024");
  }
  SES_ASSIGN_OR_RETURN(std::string path, ResolvePath(key_uri));
  SES_ASSIGN_OR_RETURN(auto key, Load(path));
  const KeyVersion& current = key->file.current();
  WrappedKey result;
  // RFC 5649: the input padded to 8 bytes, plus the 8-byte integrity block.
  result.wrapped.resize((data_key.size() + 7) / 8 * 8 + 8);
  size_t n = 0;
  if (!RunCipher(true, current.key, data_key, result.wrapped.data(), n)) {
    return InternalError("keyfile: wrap failed for '" + Printable(key_uri) + "'");
  }
  result.wrapped.resize(n);
  result.key_version = std::to_string(current.number);
  return result;
}

StatusOr<SecretBytes> KeyfileProvider::Unwrap(std::string_view key_uri,
                                              std::string_view key_version,
                                              std::span<const uint8_t> wrapped,
                                              std::span<const uint8_t> /*aad*/) {
  if (wrapped.size() > kMaxWrappedBytes) {
    return InvalidArgumentError("keyfile: wrapped key is " + std::to_string(wrapped.size()) +
                                " bytes; at most 2048 allowed");
  }
  uint32_t number = 0;
  if (!ParseVersionNumber(key_version, number)) {
    return InvalidArgumentError("keyfile: bad key version '" + Printable(key_version) +
                                "' for '" + Printable(key_uri) + "': expected a decimal number");
  }
  SES_ASSIGN_OR_RETURN(std::string path, ResolvePath(key_uri));
  SES_ASSIGN_OR_RETURN(auto key, Load(path));
  const KeyVersion* version = key->file.Find(number);
  if (version == nullptr) {
    return NotFoundError("keyfile: key '" + Printable(key_uri) + "' has no version " +
                         std::to_string(number));
  }
  // One message for every failure, whatever the cause: no oracle.
  auto failed = [&] {
    return InvalidArgumentError("keyfile: unwrap failed for '" + Printable(key_uri) +
                                "' version " + std::to_string(number));
  };
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0) return failed();
  SecretBytes data_key(wrapped.size());
  size_t n = 0;
  if (!RunCipher(false, version->key, wrapped, data_key.data(), n) || n == 0) return failed();
  data_key.resize(n);
  return data_key;
}

StatusOr<std::string> KeyfileProvider::CreateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::string path, ResolvePath(key_uri));
  std::string parent = std::filesystem::path(path).parent_path().string();
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError("keyfile: directory " + parent + " does not exist");
    return ErrnoStatus(errno, "stat", parent);
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("keyfile: " + parent + " is not a directory");
  }
  // A fast, friendly refusal; WriteFileAtomically re-checks atomically.
  if (::lstat(path.c_str(), &st) == 0) {
    return AlreadyExistsError("keyfile: " + path + " already exists");
  }
  KeyFile file;
  SES_ASSIGN_OR_RETURN(SecretBytes key, RandomMasterKey());
  file.versions.push_back(KeyVersion{1, std::move(key)});
  SES_RETURN_IF_ERROR(WriteFileAtomically(path, SerializeKeyFile(file).span(), false));
  return std::string(key_uri);
}

StatusOr<std::string> KeyfileProvider::RotateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::string path, ResolvePath(key_uri));
  UniqueFd fd;
  struct stat st;
  // Lock the file, then make sure it is still the one at `path`: a rotation
  // that finished while we waited has renamed a new file over it.
  for (int attempt = 0;; ++attempt) {
    SES_ASSIGN_OR_RETURN(fd, OpenKeyFile(path, st));
    SES_RETURN_IF_ERROR(LockExclusive(fd.get(), path));
    struct stat now;
    if (::stat(path.c_str(), &now) != 0) return ErrnoStatus(errno, "stat", path);
    if (now.st_dev == st.st_dev && now.st_ino == st.st_ino) break;
    if (attempt == 1000) {
      return UnavailableError("keyfile: " + path + " kept changing; rotation gave up");
    }
  }
  SES_ASSIGN_OR_RETURN(SecretBytes text, ReadAll(fd.get(), path));
  SES_ASSIGN_OR_RETURN(KeyFile file, ParseKeyFile(path, text.span()));
  uint32_t last = file.current().number;
  if (last >= kMaxKeyVersion) {
    return FailedPreconditionError("keyfile: " + path + " has reached the last version number");
  }
  SES_ASSIGN_OR_RETURN(SecretBytes key, RandomMasterKey());
  file.versions.push_back(KeyVersion{last + 1, std::move(key)});
  // Still holding the lock (fd stays open until we return).
  SES_RETURN_IF_ERROR(WriteFileAtomically(path, SerializeKeyFile(file).span(), true));
  return std::to_string(last + 1);
}

StatusOr<std::vector<std::string>> KeyfileProvider::ListVersions(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(std::string path, ResolvePath(key_uri));
  SES_ASSIGN_OR_RETURN(auto key, Load(path));
  std::vector<std::string> versions;
  versions.reserve(key->file.versions.size());
  for (const KeyVersion& v : key->file.versions) versions.push_back(std::to_string(v.number));
  return versions;
}

Status KeyfileProvider::Health() {
  UniqueFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    return UnavailableError("keyfile: key directory " + dir_ + " is not accessible: " +
                            std::error_code(errno, std::generic_category()).message());
  }
  return OkStatus();
}

}  // namespace ses::keyfile
