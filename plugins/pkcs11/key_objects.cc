#include "key_objects.h"

#include <algorithm>
#include <cstring>

namespace ses::pkcs11 {
namespace {

constexpr size_t kMaxObjects = 4096;  // per search; more is not a key's versions
constexpr size_t kMaxIdBytes = 256;

std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::span<const uint8_t> Significant(std::span<const uint8_t> id) {
  size_t zeros = 0;
  while (zeros < id.size() && id[zeros] == 0) ++zeros;
  return id.subspan(zeros);
}

// The handles C_FindObjects yields for `tmpl`. The search is always
// finished with C_FindObjectsFinal, so the session is left usable.
StatusOr<std::vector<CK_OBJECT_HANDLE>> Find(Lease& s, std::vector<CK_ATTRIBUTE>& tmpl,
                                             const std::string& context) {
  CK_FUNCTION_LIST* fn = s.fn();
  SES_RETURN_IF_ERROR(s.Check("C_FindObjectsInit",
                              fn->C_FindObjectsInit(s.handle(), tmpl.data(), tmpl.size()), context));
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[64];
  Status status;
  for (;;) {
    CK_ULONG n = 0;
    status = s.Check("C_FindObjects", fn->C_FindObjects(s.handle(), batch, 64, &n), context);
    if (!status.ok() || n == 0) break;
    found.insert(found.end(), batch, batch + n);
    if (found.size() > kMaxObjects) {
      status = FailedPreconditionError("pkcs11: more than " + std::to_string(kMaxObjects) +
                                       " objects match (" + context + ")");
      break;
    }
  }
  CK_RV final_rv = fn->C_FindObjectsFinal(s.handle());
  SES_RETURN_IF_ERROR(status);
  SES_RETURN_IF_ERROR(s.Check("C_FindObjectsFinal", final_rv, context));
  return found;
}

struct ObjectInfo {
  bool exists = false;
  CK_KEY_TYPE key_type = 0;
  std::vector<uint8_t> id;
};

// CKA_KEY_TYPE and CKA_ID of `h`; exists is false if it was deleted meanwhile.
StatusOr<ObjectInfo> ReadInfo(Lease& s, CK_OBJECT_HANDLE h, const std::string& context) {
  ObjectInfo info;
  uint8_t id[kMaxIdBytes];
  CK_ATTRIBUTE attrs[] = {
      {CKA_KEY_TYPE, &info.key_type, sizeof(info.key_type)},
      {CKA_ID, id, sizeof(id)},
  };
  CK_RV rv = s.fn()->C_GetAttributeValue(s.handle(), h, attrs, 2);
  if (rv == CKR_OBJECT_HANDLE_INVALID) return info;
  // An over-long ID (BUFFER_TOO_SMALL) or none at all: not one of ours.
  if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_TYPE_INVALID) {
    info.exists = true;
    return info;
  }
  SES_RETURN_IF_ERROR(s.Check("C_GetAttributeValue", rv, context));
  info.exists = true;
  if (attrs[1].ulValueLen != CK_UNAVAILABLE_INFORMATION && attrs[1].ulValueLen <= sizeof(id)) {
    info.id.assign(id, id + attrs[1].ulValueLen);
  }
  return info;
}

std::vector<CK_ATTRIBUTE> Template(const KeyUri& uri, CK_OBJECT_CLASS* cls, CK_BBOOL* token) {
  std::vector<CK_ATTRIBUTE> t = {
      {CKA_TOKEN, token, sizeof(*token)},
      {CKA_CLASS, cls, sizeof(*cls)},
      {CKA_LABEL, const_cast<char*>(uri.object.data()), uri.object.size()},
  };
  if (uri.id.has_value()) {
    t.push_back({CKA_ID, const_cast<uint8_t*>(uri.id->data()), uri.id->size()});
  }
  return t;
}

}  // namespace

std::string VersionString(std::span<const uint8_t> id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(id.size() * 2);
  for (uint8_t b : id) {
    s += kHex[b >> 4];
    s += kHex[b & 0xf];
  }
  return s;
}

StatusOr<std::vector<uint8_t>> ParseVersion(std::string_view version, const KeyUri& uri) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool ok = !version.empty() && version.size() % 2 == 0 && version.size() <= 2 * kMaxIdBytes;
  std::vector<uint8_t> id;
  for (size_t i = 0; ok && i < version.size(); i += 2) {
    int hi = nibble(version[i]);
    int lo = nibble(version[i + 1]);
    ok = hi >= 0 && lo >= 0;
    id.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  if (!ok) {
    return InvalidArgumentError("pkcs11: bad key version '" + Printable(version.substr(0, 80)) +
                                "' for " + KeyContext(uri) + ": expected the key's CKA_ID in hex");
  }
  return id;
}

bool VersionLess(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  auto sa = Significant(a);
  auto sb = Significant(b);
  if (sa.size() != sb.size()) return sa.size() < sb.size();
  int c = sa.empty() ? 0 : std::memcmp(sa.data(), sb.data(), sa.size());
  if (c != 0) return c < 0;
  // Equal values ("01" and "00000001"): a fixed order all the same.
  if (a.size() != b.size()) return a.size() < b.size();
  return false;
}

StatusOr<std::vector<uint8_t>> NextVersionId(const KeyVersions& versions, const KeyUri& uri) {
  uint64_t highest = 0;
  if (!versions.empty()) {
    auto sig = Significant(versions.back().id);
    if (sig.size() > 4) {
      return FailedPreconditionError("pkcs11: " + KeyContext(uri, versions.back().version) +
                                     " has an ID past 32 bits; SES numbers versions in 4 bytes");
    }
    for (uint8_t b : sig) highest = highest << 8 | b;
  }
  if (highest >= 0xffffffffu) {
    return FailedPreconditionError("pkcs11: " + KeyContext(uri) + " has reached the last version");
  }
  uint64_t next = highest + 1;
  return std::vector<uint8_t>{static_cast<uint8_t>(next >> 24), static_cast<uint8_t>(next >> 16),
                              static_cast<uint8_t>(next >> 8), static_cast<uint8_t>(next)};
}

std::string KeyContext(const KeyUri& uri, std::string_view version) {
  std::string s = "token '" + Printable(uri.token.label) + "', key '" + Printable(uri.object) + "'";
  if (uri.object_class == CKO_PRIVATE_KEY) s += " (RSA)";
  if (!version.empty()) s += " version " + std::string(version);
  return s;
}

StatusOr<std::vector<CK_OBJECT_HANDLE>> FindLabelled(Lease& s, const KeyUri& uri) {
  CK_OBJECT_CLASS cls = uri.object_class;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> tmpl = Template(uri, &cls, &yes);
  tmpl.resize(3);  // class and label only: any id
  return Find(s, tmpl, KeyContext(uri));
}

StatusOr<KeyVersions> FindKeyVersions(Lease& s, const KeyUri& uri) {
  const std::string context = KeyContext(uri);
  const bool rsa = uri.object_class == CKO_PRIVATE_KEY;
  CK_OBJECT_CLASS cls = uri.object_class;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> tmpl = Template(uri, &cls, &yes);
  SES_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> handles, Find(s, tmpl, context));

  KeyVersions versions;
  for (CK_OBJECT_HANDLE h : handles) {
    SES_ASSIGN_OR_RETURN(ObjectInfo info, ReadInfo(s, h, context));
    if (!info.exists || info.id.empty()) continue;
    if (info.key_type != (rsa ? CKK_RSA : CKK_AES)) continue;
    KeyObject k;
    k.version = VersionString(info.id);
    k.id = std::move(info.id);
    k.handle = h;
    k.key_type = info.key_type;
    versions.push_back(std::move(k));
  }
  if (rsa && !versions.empty()) {
    CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
    std::vector<CK_ATTRIBUTE> pub_tmpl = Template(uri, &pub, &yes);
    SES_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> publics, Find(s, pub_tmpl, context));
    for (CK_OBJECT_HANDLE h : publics) {
      SES_ASSIGN_OR_RETURN(ObjectInfo info, ReadInfo(s, h, context));
      if (!info.exists || info.key_type != CKK_RSA) continue;
      for (KeyObject& k : versions) {
        if (k.id == info.id && k.public_handle == CK_INVALID_HANDLE) k.public_handle = h;
      }
    }
  }
  std::stable_sort(versions.begin(), versions.end(), [](const KeyObject& a, const KeyObject& b) {
    return VersionLess(a.id, b.id);
  });
  return versions;
}

std::string KeyCache::Key(const KeyUri& uri) {
  return std::to_string(uri.object_class) + '\x1f' + uri.object + '\x1f' +
         (uri.id.has_value() ? VersionString(*uri.id) : "*");
}

StatusOr<std::shared_ptr<const KeyVersions>> KeyCache::Get(Lease& s, const KeyUri& uri,
                                                           bool refresh, bool* cached) {
  const std::string key = Key(uri);
  const uint64_t generation = s.token().generation;
  const auto now = std::chrono::steady_clock::now();
  *cached = false;
  if (!refresh) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.generation == generation && now - it->second.found < ttl_) {
      *cached = true;
      return it->second.versions;
    }
  }
  SES_ASSIGN_OR_RETURN(KeyVersions found, FindKeyVersions(s, uri));
  auto versions = std::make_shared<const KeyVersions>(std::move(found));
  std::lock_guard lock(mu_);
  if (versions->empty()) {
    entries_.erase(key);
  } else {
    if (entries_.size() >= 1024) entries_.clear();  // URIs are configured: a bound, not a policy
    entries_[key] = Entry{versions, generation, now};
  }
  return versions;
}

void KeyCache::Forget(const KeyUri& uri) {
  std::lock_guard lock(mu_);
  entries_.erase(Key(uri));
}

}  // namespace ses::pkcs11
