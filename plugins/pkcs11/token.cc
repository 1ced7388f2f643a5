#include "token.h"

#include <algorithm>
#include <vector>

#include "ckr.h"

namespace ses::pkcs11 {
namespace {

// The mechanisms SES wraps with or generates keys with.
constexpr CK_MECHANISM_TYPE kInteresting[] = {
    CKM_AES_KEY_WRAP_PAD, CKM_AES_KEY_WRAP, CKM_AES_GCM, CKM_RSA_PKCS_OAEP, CKM_AES_KEY_GEN,
};

}  // namespace

std::string TokenLabel(const CK_TOKEN_INFO& info) {
  size_t len = sizeof(info.label);
  while (len > 0 && (info.label[len - 1] == ' ' || info.label[len - 1] == '\0')) --len;
  return std::string(reinterpret_cast<const char*>(info.label), len);
}

StatusOr<FoundSlot> FindSlot(const Module& module, const TokenSelector& token) {
  CK_FUNCTION_LIST* fn = module.fn();
  std::vector<CK_SLOT_ID> slots;
  // The list can grow between the two calls (a token inserted): retry.
  for (int attempt = 0;; ++attempt) {
    CK_ULONG count = 0;
    CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK) return CkrError("C_GetSlotList", rv, "module " + module.path());
    slots.resize(count);
    if (count == 0) break;
    rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL && attempt < 3) continue;
    if (rv != CKR_OK) return CkrError("C_GetSlotList", rv, "module " + module.path());
    slots.resize(count);
    break;
  }
  for (CK_SLOT_ID slot : slots) {
    FoundSlot found;
    found.slot = slot;
    // A slot whose token vanished since the list was taken is skipped.
    if (fn->C_GetTokenInfo(slot, &found.info) != CKR_OK) continue;
    if ((found.info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    if (token.Matches(found.info)) return found;
  }
  return NotFoundError("pkcs11: no token labelled '" + token.label + "' in module " +
                       module.path());
}

StatusOr<Mechanisms> ProbeMechanisms(const Module& module, CK_SLOT_ID slot,
                                     const std::string& token_label) {
  CK_FUNCTION_LIST* fn = module.fn();
  const std::string context = "token '" + token_label + "'";
  CK_ULONG count = 0;
  CK_RV rv = fn->C_GetMechanismList(slot, nullptr, &count);
  if (rv != CKR_OK) return CkrError("C_GetMechanismList", rv, context);
  std::vector<CK_MECHANISM_TYPE> listed(count);
  if (count > 0) {
    rv = fn->C_GetMechanismList(slot, listed.data(), &count);
    if (rv != CKR_OK) return CkrError("C_GetMechanismList", rv, context);
    listed.resize(count);
  }
  std::map<CK_MECHANISM_TYPE, CK_FLAGS> flags;
  for (CK_MECHANISM_TYPE m : kInteresting) {
    if (std::find(listed.begin(), listed.end(), m) == listed.end()) continue;
    CK_MECHANISM_INFO info{};
    rv = fn->C_GetMechanismInfo(slot, m, &info);
    if (rv == CKR_MECHANISM_INVALID) continue;
    if (rv != CKR_OK) return CkrError("C_GetMechanismInfo", rv, context);
    flags[m] = info.flags;
  }
  return Mechanisms(std::move(flags));
}

bool ProbeKeyWrapPad(const Module& module, CK_SESSION_HANDLE session) {
  CK_FUNCTION_LIST* fn = module.fn();
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE aes = CKK_AES, generic = CKK_GENERIC_SECRET;
  CK_ULONG kek_len = 16;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  uint8_t value[7] = {1, 2, 3, 4, 5, 6, 7};
  CK_ATTRIBUTE kek_tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},  {CKA_KEY_TYPE, &aes, sizeof(aes)},
      {CKA_VALUE_LEN, &kek_len, sizeof(kek_len)}, {CKA_TOKEN, &no, sizeof(no)},
      {CKA_WRAP, &yes, sizeof(yes)},   {CKA_UNWRAP, &yes, sizeof(yes)},
  };
  CK_ATTRIBUTE data_tmpl[] = {
      {CKA_CLASS, &cls, sizeof(cls)},     {CKA_KEY_TYPE, &generic, sizeof(generic)},
      {CKA_TOKEN, &no, sizeof(no)},       {CKA_SENSITIVE, &no, sizeof(no)},
      {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_VALUE, value, sizeof(value)},
  };
  CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
  CK_MECHANISM kwp{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE, data = CK_INVALID_HANDLE, back = CK_INVALID_HANDLE;
  bool exact = false;
  uint8_t wrapped[64];
  CK_ULONG wrapped_len = sizeof(wrapped);
  uint8_t got[64] = {};
  CK_ATTRIBUTE read{CKA_VALUE, got, sizeof(got)};
  if (fn->C_GenerateKey(session, &gen, kek_tmpl, std::size(kek_tmpl), &kek) == CKR_OK &&
      fn->C_CreateObject(session, data_tmpl, std::size(data_tmpl), &data) == CKR_OK &&
      fn->C_WrapKey(session, &kwp, kek, data, wrapped, &wrapped_len) == CKR_OK &&
      fn->C_UnwrapKey(session, &kwp, kek, wrapped, wrapped_len, data_tmpl, 5, &back) == CKR_OK &&
      fn->C_GetAttributeValue(session, back, &read, 1) == CKR_OK) {
    exact = read.ulValueLen == sizeof(value) && std::equal(value, value + sizeof(value), got);
  }
  for (CK_OBJECT_HANDLE h : {back, data, kek}) {
    if (h != CK_INVALID_HANDLE) fn->C_DestroyObject(session, h);
  }
  return exact;
}

size_t SessionCapacity(const CK_TOKEN_INFO& info, size_t wanted) {
  size_t capacity = wanted;
  for (CK_ULONG limit : {info.ulMaxSessionCount, info.ulMaxRwSessionCount}) {
    if (limit == CK_EFFECTIVELY_INFINITE || limit == CK_UNAVAILABLE_INFORMATION) continue;
    capacity = std::min<size_t>(capacity, limit);
  }
  return std::max<size_t>(capacity, 1);
}

}  // namespace ses::pkcs11
