// Module: one PKCS#11 library loaded into the process, with its function
// table, initialised for multi-threaded use.
//
// Loading: dlopen(RTLD_NOW | RTLD_LOCAL); the function table comes from
// C_GetInterface (PKCS#11 3.0) when the library exports it, else from
// C_GetFunctionList (2.40); then C_Initialize with CKF_OS_LOCKING_OK.
// CKR_CRYPTOKI_ALREADY_INITIALIZED is fine: someone else in the process (a
// second SES provider, a test) initialised it first, and the library state
// is process-wide either way.
//
// Lifetime: one Module per library path for the whole process, shared by
// every token and every provider instance, and never unloaded. We never call
// C_Finalize: it would end every other user's sessions in the process (a
// second provider made by a config reload, a test's own handle), and SoftHSM2
// can crash in it at exit (MEASURED.md). For the same reason we never
// dlclose: a library whose state was not finalised must stay mapped.
//
// Thread safety: Get may be called from any thread; a Module is immutable
// once returned, and the library was initialised with OS locking, so its
// functions may be called from many threads (each session by one at a time).
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>

#include "ses/status.h"

namespace ses::pkcs11 {

class Module {
 public:
  // The module at `path`, loaded and initialised on first use. A failure is
  // not remembered: the next call tries again.
  static StatusOr<const Module*> Get(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The path the module was first loaded by. Modules are shared by that
  // path, any other spelling of it asked for since, and its realpath.
  const std::string& path() const { return path_; }
  // The PKCS#11 function table. Under 3.0 it is the 3.0 table, whose first
  // members are the 2.40 table's, so it is used through the 2.40 type.
  CK_FUNCTION_LIST* fn() const { return fn_; }
  // True if the table came from C_GetInterface.
  bool via_get_interface() const { return via_get_interface_; }

 private:
  Module(std::string path, CK_FUNCTION_LIST* fn, bool via_get_interface)
      : path_(std::move(path)), fn_(fn), via_get_interface_(via_get_interface) {}

  static StatusOr<Module*> Load(const std::string& path);

  const std::string path_;
  CK_FUNCTION_LIST* const fn_;
  const bool via_get_interface_;
};

}  // namespace ses::pkcs11
