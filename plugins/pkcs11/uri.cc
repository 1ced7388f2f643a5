#include "uri.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

namespace ses::pkcs11 {
namespace {

constexpr size_t kMaxUriBytes = 4096;
constexpr size_t kMaxPinBytes = 1024;
constexpr std::string_view kPrefix = "pkcs11:";

bool StartsWithNoCase(std::string_view s, size_t at, std::string_view prefix) {
  if (s.size() - at < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[at + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// Where a pin-value's value starts at `at`, or npos. The percent-encoded
// spelling is covered in case a parser ever decodes attribute names.
size_t PinValueStart(std::string_view s, size_t at) {
  for (std::string_view name : {"pin-value=", "pin%2dvalue="}) {
    if (StartsWithNoCase(s, at, name)) return at + name.size();
  }
  return std::string_view::npos;
}

bool IsAttributeEnd(char c) { return c == '&' || c == ';' || c == '?' || c == '#'; }

// Wipes p11-kit's copy of the PIN, then frees the URI.
struct UriFree {
  void operator()(P11KitUri* uri) const {
    if (const char* pin = p11_kit_uri_get_pin_value(uri)) {
      // p11-kit owns this heap string; overwriting its characters (not its
      // terminator) before p11_kit_uri_free is safe and leaves no PIN behind.
      internal::Cleanse(const_cast<char*>(pin), std::strlen(pin));
    }
    p11_kit_uri_free(uri);
  }
};

// A fixed-size token info field as a string: trailing blanks dropped; all
// zero bytes (the field was not given) reads as empty.
std::string Field(const unsigned char* p, size_t n) {
  size_t len = n;
  while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\0')) --len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

// The URI as p11-kit must see it, NUL-terminated, in wiped memory (it holds
// the PIN): RFC 7512 spells the RSA private key type "private", the SES
// contract also accepts "private-key", so that one segment is rewritten.
SecretBytes ForP11Kit(std::string_view text) {
  constexpr std::string_view kLong = "type=private-key";
  constexpr std::string_view kShort = "type=private";
  size_t path_end = text.find('?');
  if (path_end == std::string_view::npos) path_end = text.size();
  SecretBytes buf(text.size() + 1);
  size_t out = 0;
  size_t i = 0;
  while (i < text.size()) {
    bool segment_start = (i == kPrefix.size() && StartsWithNoCase(text, 0, kPrefix)) ||
                         (i > 0 && i < path_end && text[i - 1] == ';');
    if (segment_start && text.substr(i).starts_with(kLong) &&
        (i + kLong.size() == path_end || text[i + kLong.size()] == ';')) {
      std::memcpy(buf.data() + out, kShort.data(), kShort.size());
      out += kShort.size();
      i += kLong.size();
      continue;
    }
    buf.data()[out++] = static_cast<uint8_t>(text[i++]);
  }
  buf.data()[out] = 0;
  return buf;
}

// pin-source: a path, or a file: URI naming a local path.
StatusOr<std::string> PinSourcePath(const std::string& source) {
  std::string_view s = source;
  if (StartsWithNoCase(s, 0, "file://")) {
    s.remove_prefix(7);
    if (StartsWithNoCase(s, 0, "localhost/")) s.remove_prefix(9);
    if (s.empty() || s.front() != '/') {
      return InvalidArgumentError("pin-source file: URI must name a local absolute path");
    }
    return std::string(s);
  }
  if (StartsWithNoCase(s, 0, "file:")) {
    s.remove_prefix(5);
    if (s.empty()) return InvalidArgumentError("pin-source file: URI has no path");
    return std::string(s);
  }
  if (!s.empty() && s.front() == '|') {
    return InvalidArgumentError("pin-source programs ('|...') are not supported: name a file");
  }
  size_t colon = s.find(':');
  size_t slash = s.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) {
    return InvalidArgumentError("pin-source must be a file path or a file: URI");
  }
  if (s.empty()) return InvalidArgumentError("pin-source is empty");
  return std::string(s);
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status FileError(int err, std::string_view op, const std::string& path, std::string_view what) {
  std::string where = "PIN file " + path + " (" + std::string(what) + ")";
  if (err == ENOENT) return NotFoundError("pkcs11: " + where + " does not exist");
  std::string msg = "pkcs11: cannot " + std::string(op) + " " + where + ": " +
                    std::error_code(err, std::generic_category()).message();
  if (err == EACCES || err == EPERM) return PermissionDeniedError(std::move(msg));
  if (err == EIO || err == EINTR || err == EAGAIN || err == EMFILE || err == ENFILE) {
    return UnavailableError(std::move(msg));
  }
  return FailedPreconditionError(std::move(msg));
}

Status CheckMode(const std::string& path, const struct stat& st, bool owner_only,
                 std::string_view what) {
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError("pkcs11: PIN file " + path + " (" + std::string(what) +
                                   ") is not a regular file");
  }
  if (owner_only && (st.st_mode & 077) != 0) {
    return PermissionDeniedError("pkcs11: PIN file " + path + " (" + std::string(what) +
                                 ") is accessible by group or others (mode " +
                                 ModeString(st.st_mode) + "); chmod 600 it");
  }
  return OkStatus();
}

StatusOr<SecretBytes> ReadPinFile(const std::string& path, bool owner_only, std::string_view what) {
  // O_NONBLOCK: a FIFO planted at the path must not hang the login.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return FileError(errno, "open", path, what);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return FileError(errno, "stat", path, what);
  SES_RETURN_IF_ERROR(CheckMode(path, st, owner_only, what));
  SecretBytes pin(kMaxPinBytes + 1);
  size_t len = 0;
  while (len < pin.size()) {
    ssize_t n = ::read(fd, pin.data() + len, pin.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FileError(errno, "read", path, what);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len > kMaxPinBytes) {
    return FailedPreconditionError("pkcs11: PIN file " + path + " (" + std::string(what) +
                                   ") is longer than " + std::to_string(kMaxPinBytes) + " bytes");
  }
  if (len > 0 && pin.data()[len - 1] == '\n') --len;
  if (len > 0 && pin.data()[len - 1] == '\r') --len;
  if (len == 0) {
    return FailedPreconditionError("pkcs11: PIN file " + path + " (" + std::string(what) +
                                   ") is empty");
  }
  pin.resize(len);  // the bytes past len are wiped when the buffer is freed
  return pin;
}

}  // namespace

bool TokenSelector::Matches(const CK_TOKEN_INFO& info) const {
  auto same = [](const std::string& want, const unsigned char* p, size_t n) {
    return want.empty() || want == Field(p, n);
  };
  return same(label, info.label, sizeof(info.label)) &&
         same(manufacturer, info.manufacturerID, sizeof(info.manufacturerID)) &&
         same(model, info.model, sizeof(info.model)) &&
         same(serial, info.serialNumber, sizeof(info.serialNumber));
}

std::string TokenSelector::Key() const {
  return label + '\x1f' + manufacturer + '\x1f' + model + '\x1f' + serial;
}

std::string RedactUri(std::string_view uri) {
  std::string out;
  out.reserve(uri.size());
  size_t i = 0;
  while (i < uri.size()) {
    size_t value = PinValueStart(uri, i);
    if (value != std::string_view::npos) {
      out.append(uri.substr(i, value - i));
      out += "***";
      i = value;
      while (i < uri.size() && !IsAttributeEnd(uri[i])) ++i;
      continue;
    }
    char c = uri[i++];
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  return out;
}

std::string UriWithoutPinValue(std::string_view uri) {
  size_t q = uri.find('?');
  if (q == std::string_view::npos) return std::string(uri);
  std::string out(uri.substr(0, q));
  char sep = '?';
  std::string_view query = uri.substr(q + 1);
  while (true) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    if (!item.empty() && PinValueStart(item, 0) == std::string_view::npos) {
      out += sep;
      out.append(item);
      sep = '&';
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

StatusOr<KeyUri> ParseKeyUri(std::string_view text) {
  KeyUri key;
  key.shown = RedactUri(text.substr(0, std::min(text.size(), kMaxUriBytes)));
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("pkcs11: bad key URI '" + key.shown + "': " + std::string(why));
  };
  if (text.size() > kMaxUriBytes) return bad("longer than 4096 bytes");
  if (text.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  {
    // p11-kit also takes PIN attributes in the path, but the path is the
    // key's identity, which SES writes into every message header.
    std::string path(text.substr(0, text.find('?')));
    for (char& c : path) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view attr : {"pin-value", "pin%2dvalue", "pin-source", "pin%2dsource", "pinfile"}) {
      if (path.find(attr) != std::string::npos) {
        return bad("PIN attributes belong in the query (after '?'), never in the path that headers record");
      }
    }
  }

  std::unique_ptr<P11KitUri, UriFree> uri(p11_kit_uri_new());
  if (uri == nullptr) return ResourceExhaustedError("pkcs11: out of memory parsing a key URI");
  {
    SecretBytes input = ForP11Kit(text);
    int rc = p11_kit_uri_parse(reinterpret_cast<const char*>(input.data()),
                               P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri.get());
    if (rc != P11_KIT_URI_OK) {
      const char* why = p11_kit_uri_message(rc);
      return bad(why != nullptr ? why : "cannot be parsed");
    }
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    return bad("unsupported attribute or value (supported: token, object, id, "
               "type=secret-key|private-key; pin-source, pin-value, module-path)");
  }

  const CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  key.token.label = Field(token->label, sizeof(token->label));
  key.token.manufacturer = Field(token->manufacturerID, sizeof(token->manufacturerID));
  key.token.model = Field(token->model, sizeof(token->model));
  key.token.serial = Field(token->serialNumber, sizeof(token->serialNumber));
  if (key.token.label.empty()) return bad("token= (the token label) is required");

  const CK_ATTRIBUTE* label = p11_kit_uri_get_attribute(uri.get(), CKA_LABEL);
  if (label == nullptr || label->ulValueLen == 0) return bad("object= (the key label) is required");
  key.object.assign(static_cast<const char*>(label->pValue), label->ulValueLen);

  if (const CK_ATTRIBUTE* id = p11_kit_uri_get_attribute(uri.get(), CKA_ID)) {
    if (id->ulValueLen == 0) return bad("id= is empty");
    const auto* p = static_cast<const uint8_t*>(id->pValue);
    key.id.emplace(p, p + id->ulValueLen);
  }

  if (const CK_ATTRIBUTE* cls = p11_kit_uri_get_attribute(uri.get(), CKA_CLASS)) {
    CK_OBJECT_CLASS c = *static_cast<const CK_OBJECT_CLASS*>(cls->pValue);
    if (c != CKO_SECRET_KEY && c != CKO_PRIVATE_KEY) {
      return bad("type must be secret-key or private-key");
    }
    key.object_class = c;
  }

  if (p11_kit_uri_get_module_name(uri.get()) != nullptr) {
    return bad("module-name is not supported: give module-path");
  }
  if (const char* path = p11_kit_uri_get_module_path(uri.get())) {
    key.module_path = path;
    if (key.module_path.empty() || key.module_path.front() != '/') {
      return bad("module-path must be an absolute path");
    }
  }

  if (const char* pin = p11_kit_uri_get_pin_value(uri.get())) {
    size_t n = std::strlen(pin);
    if (n == 0) return bad("pin-value is empty");
    key.pin_value.emplace(reinterpret_cast<const uint8_t*>(pin), n);
  }
  if (const char* source = p11_kit_uri_get_pin_source(uri.get())) {
    auto path = PinSourcePath(source);
    if (!path.ok()) return bad(path.status().message());
    key.pin_source = std::move(path).value();
  }
  return key;
}

Status CheckPinFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FileError(errno, "stat", path, "pin_file");
  return CheckMode(path, st, true, "pin_file");
}

StatusOr<std::optional<SecretBytes>> ResolvePin(const KeyUri& uri, const PinSettings& settings) {
  if (uri.pin_value.has_value()) return std::optional<SecretBytes>(uri.pin_value->Clone());
  if (!uri.pin_source.empty()) {
    // No mode check here: the URI's author chose the file; `pin_file` is
    // the operator's and held to the owner-only rule.
    SES_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(uri.pin_source, false, "pin-source"));
    return std::optional<SecretBytes>(std::move(pin));
  }
  bool env_unset = false;
  if (!settings.env.empty()) {
    const char* value = std::getenv(settings.env.c_str());
    if (value != nullptr && value[0] != '\0') {
      return std::optional<SecretBytes>(
          SecretBytes(reinterpret_cast<const uint8_t*>(value), std::strlen(value)));
    }
    env_unset = true;
  }
  if (!settings.file.empty()) {
    SES_ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(settings.file, true, "pin_file"));
    return std::optional<SecretBytes>(std::move(pin));
  }
  if (env_unset) {
    return FailedPreconditionError("pkcs11: environment variable " + settings.env +
                                   " (pin_env) is not set or empty");
  }
  return std::optional<SecretBytes>();
}

}  // namespace ses::pkcs11
