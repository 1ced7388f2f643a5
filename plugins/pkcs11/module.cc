#include "module.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>
#include <system_error>

#include "ckr.h"

namespace ses::pkcs11 {
namespace {

// PKCS#11 3.0 (OASIS PKCS #11 Cryptographic Token Interface Base
// Specification v3.0, section 3.6 "Interfaces", CK_INTERFACE in pkcs11t.h).
// p11-kit's header is 2.40 and lacks it; this is the one PKCS#11 definition
// SES writes by hand.
struct CkInterface30 {
  CK_UTF8CHAR* pInterfaceName;
  void* pFunctionList;
  CK_FLAGS flags;
};
using GetInterfaceFn = CK_RV (*)(CK_UTF8CHAR* name, CK_VERSION* version,
                                 CkInterface30** interface, CK_FLAGS flags);

// The modules of this process, by the paths asked for and by their
// canonical paths. Deliberately leaked (see module.h): a static
// map would be destroyed at exit while library code may still run.
struct Registry {
  std::mutex mu;
  std::map<std::string, Module*> by_path;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

// The name the module is shared under: symlinks resolved where possible, so
// two spellings of one library share one Module.
std::string CanonicalPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

}  // namespace

StatusOr<const Module*> Module::Get(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgumentError("pkcs11: module path '" + path + "' is not absolute");
  }
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  // The path as given first: realpath costs a system call per component.
  auto it = r.by_path.find(path);
  if (it != r.by_path.end()) return static_cast<const Module*>(it->second);
  const std::string canonical = CanonicalPath(path);
  it = r.by_path.find(canonical);
  Module* m = it != r.by_path.end() ? it->second : nullptr;
  if (m == nullptr) {
    // Loading under the lock: two threads must not both C_Initialize.
    SES_ASSIGN_OR_RETURN(m, Load(path));
    r.by_path.emplace(canonical, m);
  }
  r.by_path.emplace(path, m);
  return static_cast<const Module*>(m);
}

StatusOr<Module*> Module::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    std::string why = std::error_code(err, std::generic_category()).message();
    if (err == ENOENT) return NotFoundError("pkcs11: module " + path + " does not exist");
    return FailedPreconditionError("pkcs11: cannot load module " + path + ": " + why);
  }
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return FailedPreconditionError("pkcs11: cannot load module " + path + ": " +
                                   (why != nullptr ? why : "dlopen failed"));
  }
  // From here on the handle is never closed, even on failure: the library
  // may have started threads or registered handlers we cannot undo safely.
  CK_FUNCTION_LIST* fn = nullptr;
  bool via_interface = false;
  if (auto get_interface = reinterpret_cast<GetInterfaceFn>(::dlsym(handle, "C_GetInterface"))) {
    CkInterface30* iface = nullptr;
    CK_UTF8CHAR name[] = "PKCS 11";
    // No version asked for: the module's default "PKCS 11" interface.
    CK_RV rv = get_interface(name, nullptr, &iface, 0);
    if (rv == CKR_OK && iface != nullptr && iface->pFunctionList != nullptr) {
      fn = static_cast<CK_FUNCTION_LIST*>(iface->pFunctionList);
      via_interface = true;
    }
  }
  if (fn == nullptr) {
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    if (get_list == nullptr) {
      return FailedPreconditionError("pkcs11: " + path +
                                     " exports neither C_GetInterface nor C_GetFunctionList: "
                                     "not a PKCS#11 module");
    }
    CK_RV rv = get_list(&fn);
    if (rv != CKR_OK) return CkrError("C_GetFunctionList", rv, "module " + path);
    if (fn == nullptr) {
      return FailedPreconditionError("pkcs11: C_GetFunctionList of " + path +
                                     " returned no function list");
    }
  }
  if (fn->version.major < 2) {
    return FailedPreconditionError("pkcs11: module " + path + " implements PKCS#11 " +
                                   std::to_string(fn->version.major) + "." +
                                   std::to_string(fn->version.minor) + "; SES needs 2.x or later");
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = fn->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return CkrError("C_Initialize", rv, "module " + path);
  }
  return new Module(path, fn, via_interface);
}

}  // namespace ses::pkcs11
