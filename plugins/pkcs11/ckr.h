// CK_RV return values: their CKR_ names, the ses::Status each maps to, and
// which of them the session pool recovers from by reopening and logging in.
//
// Every PKCS#11 failure SES reports goes through CkrError, so messages have
// one shape: "pkcs11: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID (token 'ses-test',
// key 'master' version 00000001)". Messages never carry PINs or key bytes.
//
// Thread safety: pure functions over constant tables.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>
#include <string_view>

#include "ses/status.h"

namespace ses::pkcs11 {

// "CKR_PIN_INCORRECT"; unknown values read "CKR_0x000001f0" and vendor values
// "CKR_VENDOR_DEFINED+0x5".
std::string CkrName(CK_RV rv);

// The ses::Status code a failing CK_RV maps to (kOk for CKR_OK).
StatusCode CkrCode(CK_RV rv);

// True for the codes after which the session pool drops its sessions, finds
// the token's slot again, reopens, logs in and retries the operation.
bool IsRecoverable(CK_RV rv);

// True for the codes that mean a key handle no longer names an object
// (deleted, or a stale cached handle).
bool IsStaleHandle(CK_RV rv);

// The Status for `function` failing with `rv`; `context` (may be empty) is
// appended in parentheses. PIN codes get "wrong PIN" (or "PIN locked", ...)
// added to the context: never the PIN itself.
Status CkrError(std::string_view function, CK_RV rv, std::string_view context);

}  // namespace ses::pkcs11
