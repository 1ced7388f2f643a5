#include "wrap_ops.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace ses::pkcs11 {
namespace {

constexpr CK_FLAGS kWrapBoth = CKF_WRAP | CKF_UNWRAP;
constexpr CK_FLAGS kCryptBoth = CKF_ENCRYPT | CKF_DECRYPT;

// Destroys a session object when it goes out of scope. Errors are ignored:
// if the session died, its session objects died with it.
class SessionObject {
 public:
  SessionObject(Lease& s, CK_OBJECT_HANDLE h) : s_(s), h_(h) {}
  ~SessionObject() { s_.fn()->C_DestroyObject(s_.handle(), h_); }
  SessionObject(const SessionObject&) = delete;
  SessionObject& operator=(const SessionObject&) = delete;
  CK_OBJECT_HANDLE handle() const { return h_; }

 private:
  Lease& s_;
  CK_OBJECT_HANDLE h_;
};

uint8_t* Mutable(std::span<const uint8_t> s) {
  // PKCS#11 2.40 takes input buffers through non-const pointers; modules
  // do not write to them.
  return s.empty() ? nullptr : const_cast<uint8_t*>(s.data());
}

CK_GCM_PARAMS GcmParams(const uint8_t* iv, std::span<const uint8_t> aad) {
  CK_GCM_PARAMS p{};
  p.pIv = const_cast<uint8_t*>(iv);
  p.ulIvLen = kGcmIvBytes;
  p.ulIvBits = kGcmIvBytes * 8;
  p.pAAD = Mutable(aad);
  p.ulAADLen = aad.size();
  p.ulTagBits = kGcmTagBytes * 8;
  return p;
}

CK_RSA_PKCS_OAEP_PARAMS OaepParams(bool sha256) {
  CK_RSA_PKCS_OAEP_PARAMS p{};
  p.hashAlg = sha256 ? CKM_SHA256 : CKM_SHA_1;
  p.mgf = sha256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1;
  p.source = CKZ_DATA_SPECIFIED;
  p.pSourceData = nullptr;
  p.ulSourceDataLen = 0;
  return p;
}

// The OAEP hashes to try, in order.
std::vector<bool> OaepHashes(const Plan& plan, const OaepMemo& memo) {
  if (!plan.oaep_sha1_allowed) return {true};
  if (memo.sha256_refused.load(std::memory_order_relaxed)) return {false};
  return {true, false};
}

// The token refused the mechanism's parameters (not the data).
bool RefusedParameters(CK_RV rv) {
  return rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID;
}

// `rsa-oaep` asked for SHA-256 and the token refused the parameters: say
// so as the configuration problem it is.
Status Sha256Refused(const Status& failed) {
  return FailedPreconditionError(failed.message() +
                                 ": the token refuses RSA-OAEP with SHA-256 (SoftHSM2 2.6 does); "
                                 "mechanism=auto falls back to OAEP with SHA-1");
}

// The result of an unwrap or decrypt call. SoftHSM2 2.6 reports a wrapped
// key or ciphertext that fails its integrity check (a wrong key, a changed
// byte, other AAD) as CKR_GENERAL_ERROR rather than CKR_WRAPPED_KEY_INVALID
// or CKR_ENCRYPTED_DATA_INVALID. Only for SoftHSM2 (a software token: no
// device to fail) and only if its session still answers is that read as a
// bad input (kInvalidArgument). From any other module CKR_GENERAL_ERROR
// stays the device failure the standard says it is (kUnavailable), so an
// outage is never reported as "authentication failed".
Status InputCheck(Lease& s, std::string_view function, CK_RV rv, const std::string& context) {
  Status status = s.Check(function, rv, context);
  if (rv != CKR_GENERAL_ERROR) return status;
  CK_INFO module_info{};
  if (s.fn()->C_GetInfo(&module_info) != CKR_OK) return status;
  std::string_view maker(reinterpret_cast<const char*>(module_info.manufacturerID),
                         sizeof(module_info.manufacturerID));
  if (maker.substr(0, 7) != "SoftHSM") return status;
  CK_SESSION_INFO info{};
  if (s.fn()->C_GetSessionInfo(s.handle(), &info) != CKR_OK) return status;
  return InvalidArgumentError(status.message() +
                              ": the token rejected the input (its session is still good)");
}

Status Random(Lease& s, uint8_t* out, size_t n, const std::string& context) {
  return s.Check("C_GenerateRandom", s.fn()->C_GenerateRandom(s.handle(), out, n), context);
}

StatusOr<SecretBytes> ReadValue(Lease& s, CK_OBJECT_HANDLE h, size_t cap,
                                const std::string& context) {
  SecretBytes value(cap);
  CK_ATTRIBUTE attr{CKA_VALUE, value.data(), value.size()};
  CK_RV rv = s.fn()->C_GetAttributeValue(s.handle(), h, &attr, 1);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    attr = {CKA_VALUE, nullptr, 0};
    SES_RETURN_IF_ERROR(s.Check("C_GetAttributeValue", s.fn()->C_GetAttributeValue(s.handle(), h, &attr, 1), context));
    if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION || attr.ulValueLen > 64 * 1024) {
      return InternalError("pkcs11: C_GetAttributeValue: unusable CKA_VALUE length (" + context + ")");
    }
    value = SecretBytes(attr.ulValueLen);
    attr = {CKA_VALUE, value.data(), value.size()};
    rv = s.fn()->C_GetAttributeValue(s.handle(), h, &attr, 1);
  }
  SES_RETURN_IF_ERROR(s.Check("C_GetAttributeValue", rv, context));
  if (attr.ulValueLen == 0 || attr.ulValueLen > value.size()) {
    return InternalError("pkcs11: C_GetAttributeValue: the token returned no key value (" + context + ")");
  }
  value.resize(attr.ulValueLen);
  return value;
}

// A temporary copy of the data key on the token, for C_WrapKey.
StatusOr<CK_OBJECT_HANDLE> ImportValue(Lease& s, std::span<const uint8_t> value,
                                       const std::string& context) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},          {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_TOKEN, &no, sizeof(no)},            {CKA_SENSITIVE, &no, sizeof(no)},
      {CKA_EXTRACTABLE, &yes, sizeof(yes)},    {CKA_VALUE, Mutable(value), value.size()},
  };
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  SES_RETURN_IF_ERROR(s.Check("C_CreateObject",
                              s.fn()->C_CreateObject(s.handle(), tmpl, std::size(tmpl), &h), context));
  return h;
}

// C_WrapKey into prefix || output; `cap` is the expected output size (one
// more call if the module wants a larger buffer).
StatusOr<std::vector<uint8_t>> CallWrap(Lease& s, CK_MECHANISM& mech, CK_OBJECT_HANDLE wrapping,
                                        CK_OBJECT_HANDLE target, size_t cap,
                                        std::span<const uint8_t> prefix, const std::string& context) {
  std::vector<uint8_t> out(prefix.size() + cap);
  std::copy(prefix.begin(), prefix.end(), out.begin());
  CK_ULONG len = cap;
  CK_RV rv = s.fn()->C_WrapKey(s.handle(), &mech, wrapping, target, out.data() + prefix.size(), &len);
  if (rv == CKR_BUFFER_TOO_SMALL && len > cap && len <= 64 * 1024) {
    out.resize(prefix.size() + len);
    rv = s.fn()->C_WrapKey(s.handle(), &mech, wrapping, target, out.data() + prefix.size(), &len);
  }
  SES_RETURN_IF_ERROR(s.Check("C_WrapKey", rv, context));
  out.resize(prefix.size() + len);
  return out;
}

// C_UnwrapKey into a temporary session object, its value read, the object
// destroyed.
StatusOr<SecretBytes> CallUnwrap(Lease& s, CK_MECHANISM& mech, CK_OBJECT_HANDLE unwrapping,
                                 std::span<const uint8_t> data, const std::string& context) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_GENERIC_SECRET;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_TOKEN, &no, sizeof(no)},         {CKA_SENSITIVE, &no, sizeof(no)},
      {CKA_EXTRACTABLE, &yes, sizeof(yes)},
  };
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  SES_RETURN_IF_ERROR(InputCheck(s, "C_UnwrapKey",
                                 s.fn()->C_UnwrapKey(s.handle(), &mech, unwrapping, Mutable(data),
                                                     data.size(), tmpl, std::size(tmpl), &h),
                                 context));
  SessionObject object(s, h);
  return ReadValue(s, h, data.size(), context);
}

StatusOr<std::vector<uint8_t>> EncryptGcm(Lease& s, const KeyObject& key,
                                          std::span<const uint8_t> value,
                                          std::span<const uint8_t> aad, const std::string& context) {
  std::vector<uint8_t> out(kGcmIvBytes + value.size() + kGcmTagBytes);
  SES_RETURN_IF_ERROR(Random(s, out.data(), kGcmIvBytes, context));
  CK_GCM_PARAMS params = GcmParams(out.data(), aad);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof(params)};
  SES_RETURN_IF_ERROR(s.Check("C_EncryptInit", s.fn()->C_EncryptInit(s.handle(), &mech, key.handle), context));
  // C_Encrypt ends the operation unless it says CKR_BUFFER_TOO_SMALL; then
  // it must be called again to leave the session usable.
  CK_ULONG len = value.size() + kGcmTagBytes;
  CK_RV rv = s.fn()->C_Encrypt(s.handle(), Mutable(value), value.size(), out.data() + kGcmIvBytes, &len);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    out.resize(kGcmIvBytes + len);
    rv = s.fn()->C_Encrypt(s.handle(), Mutable(value), value.size(), out.data() + kGcmIvBytes, &len);
  }
  SES_RETURN_IF_ERROR(s.Check("C_Encrypt", rv, context));
  out.resize(kGcmIvBytes + len);
  return out;
}

StatusOr<SecretBytes> DecryptGcm(Lease& s, const KeyObject& key, std::span<const uint8_t> wrapped,
                                 std::span<const uint8_t> aad, const std::string& context) {
  CK_GCM_PARAMS params = GcmParams(wrapped.data(), aad);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof(params)};
  std::span<const uint8_t> sealed = wrapped.subspan(kGcmIvBytes);
  SES_RETURN_IF_ERROR(s.Check("C_DecryptInit", s.fn()->C_DecryptInit(s.handle(), &mech, key.handle), context));
  SecretBytes out(sealed.size());
  CK_ULONG len = out.size();
  CK_RV rv = s.fn()->C_Decrypt(s.handle(), Mutable(sealed), sealed.size(), out.data(), &len);
  if (rv == CKR_BUFFER_TOO_SMALL && len > out.size() && len <= 64 * 1024) {
    out = SecretBytes(len);
    rv = s.fn()->C_Decrypt(s.handle(), Mutable(sealed), sealed.size(), out.data(), &len);
  }
  SES_RETURN_IF_ERROR(InputCheck(s, "C_Decrypt", rv, context));
  out.resize(len);
  return out;
}

// Wraps the token object `target` (a data key of `value_len` bytes).
StatusOr<std::vector<uint8_t>> WrapObject(Lease& s, const Plan& plan, const KeyObject& key,
                                          CK_OBJECT_HANDLE target, size_t value_len,
                                          std::span<const uint8_t> aad, OaepMemo& memo,
                                          const std::string& context) {
  switch (plan.mechanism) {
    case Mechanism::kAesKeyWrapPad: {
      CK_MECHANISM mech{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
      return CallWrap(s, mech, key.handle, target, value_len + 16, {}, context);
    }
    case Mechanism::kAesKeyWrap: {
      CK_MECHANISM mech{CKM_AES_KEY_WRAP, nullptr, 0};
      return CallWrap(s, mech, key.handle, target, value_len + 8, {}, context);
    }
    case Mechanism::kAesGcm: {
      uint8_t iv[kGcmIvBytes];
      SES_RETURN_IF_ERROR(Random(s, iv, sizeof(iv), context));
      CK_GCM_PARAMS params = GcmParams(iv, aad);
      CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof(params)};
      return CallWrap(s, mech, key.handle, target, value_len + kGcmTagBytes, iv, context);
    }
    case Mechanism::kRsaOaep: {
      if (key.public_handle == CK_INVALID_HANDLE) {
        return NotFoundError("pkcs11: " + context +
                             " has no public key object with the same label and id; RSA wrapping "
                             "needs it");
      }
      StatusOr<std::vector<uint8_t>> result = InternalError("pkcs11: no OAEP hash to try");
      for (bool sha256 : OaepHashes(plan, memo)) {
        CK_RSA_PKCS_OAEP_PARAMS params = OaepParams(sha256);
        CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
        result = CallWrap(s, mech, key.public_handle, target, 1024, {}, context);
        if (!result.ok() && sha256 && RefusedParameters(s.last_rv()) && !plan.oaep_sha1_allowed) {
          return Sha256Refused(result.status());
        }
        if (result.ok() || !sha256 || !plan.oaep_sha1_allowed || !RefusedParameters(s.last_rv())) {
          return result;
        }
        memo.sha256_refused.store(true, std::memory_order_relaxed);
        s.ForgetRv();
      }
      return result;
    }
    case Mechanism::kAuto:
      break;
  }
  return InternalError("pkcs11: no wrapping mechanism chosen (" + context + ")");
}

}  // namespace

StatusOr<Plan> ChoosePlan(Mechanism configured, CK_KEY_TYPE key_type, const Mechanisms& mechanisms,
                          const std::string& context) {
  auto lacks = [&](std::string_view ckm) {
    return FailedPreconditionError("pkcs11: mechanism " + std::string(MechanismName(configured)) +
                                   ": " + context + " does not offer " + std::string(ckm) +
                                   " for wrapping and unwrapping");
  };
  auto wrong_key = [&](std::string_view needs, std::string_view is) {
    return FailedPreconditionError("pkcs11: mechanism " + std::string(MechanismName(configured)) +
                                   " needs " + std::string(needs) + ", but " + context + " is " +
                                   std::string(is));
  };
  Plan plan;
  if (key_type == CKK_AES) {
    const bool kwp = mechanisms.Has(CKM_AES_KEY_WRAP_PAD, kWrapBoth);
    const bool kw = mechanisms.Has(CKM_AES_KEY_WRAP, kWrapBoth);
    const bool gcm_wrap = mechanisms.Has(CKM_AES_GCM, kWrapBoth);
    const bool gcm_crypt = mechanisms.Has(CKM_AES_GCM, kCryptBoth);
    switch (configured) {
      case Mechanism::kAuto:
        if (kwp) {
          plan.mechanism = Mechanism::kAesKeyWrapPad;
          plan.kwp_exact = mechanisms.kwp_exact();
        } else if (kw) {
          plan.mechanism = Mechanism::kAesKeyWrap;
        } else if (gcm_wrap || gcm_crypt) {
          plan.mechanism = Mechanism::kAesGcm;
          plan.gcm_by_encrypt = !gcm_wrap;
        } else {
          return lacks("CKM_AES_KEY_WRAP_PAD, CKM_AES_KEY_WRAP or CKM_AES_GCM");
        }
        return plan;
      case Mechanism::kAesKeyWrapPad:
        if (!kwp) return lacks("CKM_AES_KEY_WRAP_PAD");
        plan.mechanism = configured;
        plan.kwp_exact = mechanisms.kwp_exact();
        return plan;
      case Mechanism::kAesKeyWrap:
        if (!kw) return lacks("CKM_AES_KEY_WRAP");
        plan.mechanism = configured;
        return plan;
      case Mechanism::kAesGcm:
        if (!gcm_wrap && !gcm_crypt) return lacks("CKM_AES_GCM");
        plan.mechanism = configured;
        plan.gcm_by_encrypt = !gcm_wrap;
        return plan;
      case Mechanism::kRsaOaep:
        return wrong_key("an RSA key pair (type=private-key)", "an AES key");
    }
  }
  if (key_type == CKK_RSA) {
    switch (configured) {
      case Mechanism::kAuto:
      case Mechanism::kRsaOaep:
        if (!mechanisms.Has(CKM_RSA_PKCS_OAEP, kWrapBoth)) return lacks("CKM_RSA_PKCS_OAEP");
        plan.mechanism = Mechanism::kRsaOaep;
        plan.oaep_sha1_allowed = configured == Mechanism::kAuto;
        return plan;
      default:
        return wrong_key("an AES key", "an RSA key");
    }
  }
  return FailedPreconditionError("pkcs11: " + context + " is neither an AES nor an RSA key");
}

StatusOr<std::vector<uint8_t>> WrapDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                           std::span<const uint8_t> data_key,
                                           std::span<const uint8_t> aad, OaepMemo& memo,
                                           const std::string& context) {
  if (plan.mechanism == Mechanism::kAesKeyWrap && (data_key.size() < 16 || data_key.size() % 8 != 0)) {
    return InvalidArgumentError("pkcs11: aes-key-wrap needs a data key of 16 bytes or more, in "
                                "steps of 8; got " + std::to_string(data_key.size()) + " (" +
                                context + ")");
  }
  if (plan.mechanism == Mechanism::kAesKeyWrapPad && !plan.kwp_exact && data_key.size() % 8 != 0) {
    return FailedPreconditionError(
        "pkcs11: " + context + ": the token pads CKM_AES_KEY_WRAP_PAD input to whole 8-byte "
        "blocks (SoftHSM2 2.6 does), so a " + std::to_string(data_key.size()) +
        "-byte data key would not unwrap to itself; use data keys of a multiple of 8 bytes");
  }
  if (plan.gcm_by_encrypt) return EncryptGcm(s, key, data_key, aad, context);
  SES_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE h, ImportValue(s, data_key, context));
  SessionObject object(s, h);
  return WrapObject(s, plan, key, h, data_key.size(), aad, memo, context);
}

StatusOr<SecretBytes> UnwrapDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                    std::span<const uint8_t> wrapped, std::span<const uint8_t> aad,
                                    OaepMemo& memo, const std::string& context) {
  auto too_short = [&] {
    return InvalidArgumentError("pkcs11: wrapped key of " + std::to_string(wrapped.size()) +
                                " bytes is too short for " +
                                std::string(MechanismName(plan.mechanism)) + " (" + context + ")");
  };
  switch (plan.mechanism) {
    case Mechanism::kAesKeyWrapPad:
    case Mechanism::kAesKeyWrap: {
      if (wrapped.size() < 16) return too_short();
      CK_MECHANISM mech{plan.mechanism == Mechanism::kAesKeyWrapPad ? CKM_AES_KEY_WRAP_PAD
                                                                    : CKM_AES_KEY_WRAP,
                        nullptr, 0};
      return CallUnwrap(s, mech, key.handle, wrapped, context);
    }
    case Mechanism::kAesGcm: {
      if (wrapped.size() < kGcmIvBytes + kGcmTagBytes + 1) return too_short();
      if (plan.gcm_by_encrypt) return DecryptGcm(s, key, wrapped, aad, context);
      CK_GCM_PARAMS params = GcmParams(wrapped.data(), aad);
      CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof(params)};
      return CallUnwrap(s, mech, key.handle, wrapped.subspan(kGcmIvBytes), context);
    }
    case Mechanism::kRsaOaep: {
      std::optional<Status> data_error;
      for (bool sha256 : OaepHashes(plan, memo)) {
        CK_RSA_PKCS_OAEP_PARAMS params = OaepParams(sha256);
        CK_MECHANISM mech{CKM_RSA_PKCS_OAEP, &params, sizeof(params)};
        auto result = CallUnwrap(s, mech, key.handle, wrapped, context);
        if (!result.ok() && sha256 && RefusedParameters(s.last_rv()) && !plan.oaep_sha1_allowed) {
          return Sha256Refused(result.status());
        }
        if (result.ok() || !sha256 || !plan.oaep_sha1_allowed) {
          // The first data error is the one to report, not SHA-1's.
          if (!result.ok() && data_error.has_value()) return *data_error;
          return result;
        }
        if (RefusedParameters(s.last_rv())) {
          memo.sha256_refused.store(true, std::memory_order_relaxed);
        } else if (result.status().code() == StatusCode::kInvalidArgument) {
          data_error = result.status();  // maybe wrapped with SHA-1: try that
        } else {
          return result;
        }
        s.ForgetRv();
      }
      return data_error.value_or(InternalError("pkcs11: no OAEP hash to try"));
    }
    case Mechanism::kAuto:
      break;
  }
  return InternalError("pkcs11: no wrapping mechanism chosen (" + context + ")");
}

StatusOr<GeneratedKey> GenerateDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                       size_t len, std::span<const uint8_t> aad, OaepMemo& memo,
                                       const std::string& context) {
  if (len != 16 && len != 24 && len != 32) {
    return UnimplementedError("pkcs11: the token generates AES data keys of 16, 24 or 32 bytes only");
  }
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG value_len = len;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},          {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_VALUE_LEN, &value_len, sizeof(value_len)},
      {CKA_TOKEN, &no, sizeof(no)},            {CKA_SENSITIVE, &no, sizeof(no)},
      {CKA_EXTRACTABLE, &yes, sizeof(yes)},
  };
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  SES_RETURN_IF_ERROR(s.Check("C_GenerateKey",
                              s.fn()->C_GenerateKey(s.handle(), &mech, tmpl, std::size(tmpl), &h),
                              context));
  SessionObject object(s, h);
  GeneratedKey out;
  SES_ASSIGN_OR_RETURN(out.value, ReadValue(s, h, len, context));
  if (out.value.size() != len) {
    return InternalError("pkcs11: C_GenerateKey made a key of " + std::to_string(out.value.size()) +
                         " bytes, not " + std::to_string(len) + " (" + context + ")");
  }
  if (plan.gcm_by_encrypt) {
    SES_ASSIGN_OR_RETURN(out.wrapped, EncryptGcm(s, key, out.value.span(), aad, context));
  } else {
    SES_ASSIGN_OR_RETURN(out.wrapped, WrapObject(s, plan, key, h, len, aad, memo, context));
  }
  return out;
}

Status CreateMasterKey(Lease& s, const Plan& plan, const KeyUri& uri, std::span<const uint8_t> id,
                       const std::string& context) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG value_len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_BBOOL crypt = plan.gcm_by_encrypt ? CK_TRUE : CK_FALSE;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},
      {CKA_KEY_TYPE, &type, sizeof(type)},
      {CKA_VALUE_LEN, &value_len, sizeof(value_len)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_WRAP, &yes, sizeof(yes)},
      {CKA_UNWRAP, &yes, sizeof(yes)},
      {CKA_ENCRYPT, &crypt, sizeof(crypt)},
      {CKA_DECRYPT, &crypt, sizeof(crypt)},
      {CKA_SIGN, &no, sizeof(no)},
      {CKA_VERIFY, &no, sizeof(no)},
      {CKA_DERIVE, &no, sizeof(no)},
      {CKA_LABEL, const_cast<char*>(uri.object.data()), uri.object.size()},
      {CKA_ID, Mutable(id), id.size()},
  };
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  return s.Check("C_GenerateKey", s.fn()->C_GenerateKey(s.handle(), &mech, tmpl, std::size(tmpl), &h),
                 context);
}

}  // namespace ses::pkcs11
