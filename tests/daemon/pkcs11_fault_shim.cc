// A PKCS#11 module for tests that stands in for an HSM whose network or
// device can go away and come back: it forwards every call to a real module
// (SoftHSM2 by default) and, while the file named by SES_PKCS11_FAULT_FILE
// exists, fails every call that would reach the token with CKR_DEVICE_ERROR,
// as a network HSM's client library does while the appliance is unreachable.
//
// SoftHSM2 itself cannot model this: once its token files vanish, its
// in-process token stays invalid for good, even after they come back.
//
// Environment (read at the first C_GetFunctionList):
//   SES_PKCS11_FAULT_FILE   the switch: present = unreachable (unset: never)
//   SES_PKCS11_REAL_MODULE  the module to forward to
//                           (default /usr/lib/softhsm/libsofthsm2.so)
//
// Library set-up and teardown (C_Initialize, C_Finalize, C_GetInfo) and
// closing sessions always go through: they are local to the client library.
//
// Thread safety: the function list is built once; the switch is a stat() per call.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace {

CK_FUNCTION_LIST* g_real = nullptr;
CK_FUNCTION_LIST g_list;
std::string g_fault_file;

bool Unreachable() { return !g_fault_file.empty() && ::access(g_fault_file.c_str(), F_OK) == 0; }

// Guard<type of the member, the member>::Call has the member's signature.
template <typename Fn, auto Member>
struct Guard;
template <typename... Args, auto Member>
struct Guard<CK_RV (*)(Args...), Member> {
  static CK_RV Call(Args... args) {
    if (Unreachable()) return CKR_DEVICE_ERROR;
    return (g_real->*Member)(args...);
  }
};

#define SES_GUARD(name) g_list.name = &Guard<decltype(g_list.name), &CK_FUNCTION_LIST::name>::Call

CK_RV Build() {
  const char* real_path = std::getenv("SES_PKCS11_REAL_MODULE");
  const std::string path = real_path != nullptr ? real_path : "/usr/lib/softhsm/libsofthsm2.so";
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return CKR_GENERAL_ERROR;
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_list == nullptr || get_list(&g_real) != CKR_OK || g_real == nullptr) return CKR_GENERAL_ERROR;
  if (const char* f = std::getenv("SES_PKCS11_FAULT_FILE")) g_fault_file = f;
  g_list = *g_real;
  SES_GUARD(C_GetSlotList);
  SES_GUARD(C_GetSlotInfo);
  SES_GUARD(C_GetTokenInfo);
  SES_GUARD(C_GetMechanismList);
  SES_GUARD(C_GetMechanismInfo);
  SES_GUARD(C_OpenSession);
  SES_GUARD(C_GetSessionInfo);
  SES_GUARD(C_Login);
  SES_GUARD(C_Logout);
  SES_GUARD(C_CreateObject);
  SES_GUARD(C_DestroyObject);
  SES_GUARD(C_GetAttributeValue);
  SES_GUARD(C_SetAttributeValue);
  SES_GUARD(C_FindObjectsInit);
  SES_GUARD(C_FindObjects);
  SES_GUARD(C_FindObjectsFinal);
  SES_GUARD(C_EncryptInit);
  SES_GUARD(C_Encrypt);
  SES_GUARD(C_DecryptInit);
  SES_GUARD(C_Decrypt);
  SES_GUARD(C_GenerateKey);
  SES_GUARD(C_GenerateKeyPair);
  SES_GUARD(C_WrapKey);
  SES_GUARD(C_UnwrapKey);
  SES_GUARD(C_GenerateRandom);
  g_list.C_GetFunctionList = &C_GetFunctionList;
  return CKR_OK;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  static std::once_flag once;
  static CK_RV built = CKR_GENERAL_ERROR;
  std::call_once(once, [] { built = Build(); });
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  if (built != CKR_OK) return built;
  *list = &g_list;
  return CKR_OK;
}
