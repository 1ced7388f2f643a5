#include "ckr.h"

#include <cstdio>
#include <utility>

namespace ses::pkcs11 {
namespace {

struct CkrEntry {
  CK_RV rv;
  const char* name;
};

// Every CKR_ constant p11-kit's PKCS#11 2.40 header defines, in its order.
#define SES_CKR(name) {name, #name}
constexpr CkrEntry kCkrNames[] = {
    SES_CKR(CKR_OK),
    SES_CKR(CKR_CANCEL),
    SES_CKR(CKR_HOST_MEMORY),
    SES_CKR(CKR_SLOT_ID_INVALID),
    SES_CKR(CKR_GENERAL_ERROR),
    SES_CKR(CKR_FUNCTION_FAILED),
    SES_CKR(CKR_ARGUMENTS_BAD),
    SES_CKR(CKR_NO_EVENT),
    SES_CKR(CKR_NEED_TO_CREATE_THREADS),
    SES_CKR(CKR_CANT_LOCK),
    SES_CKR(CKR_ATTRIBUTE_READ_ONLY),
    SES_CKR(CKR_ATTRIBUTE_SENSITIVE),
    SES_CKR(CKR_ATTRIBUTE_TYPE_INVALID),
    SES_CKR(CKR_ATTRIBUTE_VALUE_INVALID),
    SES_CKR(CKR_ACTION_PROHIBITED),
    SES_CKR(CKR_DATA_INVALID),
    SES_CKR(CKR_DATA_LEN_RANGE),
    SES_CKR(CKR_DEVICE_ERROR),
    SES_CKR(CKR_DEVICE_MEMORY),
    SES_CKR(CKR_DEVICE_REMOVED),
    SES_CKR(CKR_ENCRYPTED_DATA_INVALID),
    SES_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE),
    SES_CKR(CKR_FUNCTION_CANCELED),
    SES_CKR(CKR_FUNCTION_NOT_PARALLEL),
    SES_CKR(CKR_FUNCTION_NOT_SUPPORTED),
    SES_CKR(CKR_KEY_HANDLE_INVALID),
    SES_CKR(CKR_KEY_SIZE_RANGE),
    SES_CKR(CKR_KEY_TYPE_INCONSISTENT),
    SES_CKR(CKR_KEY_NOT_NEEDED),
    SES_CKR(CKR_KEY_CHANGED),
    SES_CKR(CKR_KEY_NEEDED),
    SES_CKR(CKR_KEY_INDIGESTIBLE),
    SES_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
    SES_CKR(CKR_KEY_NOT_WRAPPABLE),
    SES_CKR(CKR_KEY_UNEXTRACTABLE),
    SES_CKR(CKR_MECHANISM_INVALID),
    SES_CKR(CKR_MECHANISM_PARAM_INVALID),
    SES_CKR(CKR_OBJECT_HANDLE_INVALID),
    SES_CKR(CKR_OPERATION_ACTIVE),
    SES_CKR(CKR_OPERATION_NOT_INITIALIZED),
    SES_CKR(CKR_PIN_INCORRECT),
    SES_CKR(CKR_PIN_INVALID),
    SES_CKR(CKR_PIN_LEN_RANGE),
    SES_CKR(CKR_PIN_EXPIRED),
    SES_CKR(CKR_PIN_LOCKED),
    SES_CKR(CKR_SESSION_CLOSED),
    SES_CKR(CKR_SESSION_COUNT),
    SES_CKR(CKR_SESSION_HANDLE_INVALID),
    SES_CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    SES_CKR(CKR_SESSION_READ_ONLY),
    SES_CKR(CKR_SESSION_EXISTS),
    SES_CKR(CKR_SESSION_READ_ONLY_EXISTS),
    SES_CKR(CKR_SESSION_READ_WRITE_SO_EXISTS),
    SES_CKR(CKR_SIGNATURE_INVALID),
    SES_CKR(CKR_SIGNATURE_LEN_RANGE),
    SES_CKR(CKR_TEMPLATE_INCOMPLETE),
    SES_CKR(CKR_TEMPLATE_INCONSISTENT),
    SES_CKR(CKR_TOKEN_NOT_PRESENT),
    SES_CKR(CKR_TOKEN_NOT_RECOGNIZED),
    SES_CKR(CKR_TOKEN_WRITE_PROTECTED),
    SES_CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    SES_CKR(CKR_UNWRAPPING_KEY_SIZE_RANGE),
    SES_CKR(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
    SES_CKR(CKR_USER_ALREADY_LOGGED_IN),
    SES_CKR(CKR_USER_NOT_LOGGED_IN),
    SES_CKR(CKR_USER_PIN_NOT_INITIALIZED),
    SES_CKR(CKR_USER_TYPE_INVALID),
    SES_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    SES_CKR(CKR_USER_TOO_MANY_TYPES),
    SES_CKR(CKR_WRAPPED_KEY_INVALID),
    SES_CKR(CKR_WRAPPED_KEY_LEN_RANGE),
    SES_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID),
    SES_CKR(CKR_WRAPPING_KEY_SIZE_RANGE),
    SES_CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    SES_CKR(CKR_RANDOM_SEED_NOT_SUPPORTED),
    SES_CKR(CKR_RANDOM_NO_RNG),
    SES_CKR(CKR_DOMAIN_PARAMS_INVALID),
    SES_CKR(CKR_CURVE_NOT_SUPPORTED),
    SES_CKR(CKR_BUFFER_TOO_SMALL),
    SES_CKR(CKR_SAVED_STATE_INVALID),
    SES_CKR(CKR_INFORMATION_SENSITIVE),
    SES_CKR(CKR_STATE_UNSAVEABLE),
    SES_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
    SES_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    SES_CKR(CKR_MUTEX_BAD),
    SES_CKR(CKR_MUTEX_NOT_LOCKED),
    SES_CKR(CKR_NEW_PIN_MODE),
    SES_CKR(CKR_NEXT_OTP),
    SES_CKR(CKR_EXCEEDED_MAX_ITERATIONS),
    SES_CKR(CKR_FIPS_SELF_TEST_FAILED),
    SES_CKR(CKR_LIBRARY_LOAD_FAILED),
    SES_CKR(CKR_PIN_TOO_WEAK),
    SES_CKR(CKR_PUBLIC_KEY_INVALID),
    SES_CKR(CKR_FUNCTION_REJECTED),
};
#undef SES_CKR

// Why a PIN code failed, for the message (the PIN itself is never shown).
const char* PinProblem(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return "wrong PIN";
    case CKR_PIN_EXPIRED:
      return "PIN expired";
    case CKR_PIN_LOCKED:
      return "PIN locked";
    default:
      return nullptr;
  }
}

}  // namespace

std::string CkrName(CK_RV rv) {
  for (const CkrEntry& e : kCkrNames) {
    if (e.rv == rv) return e.name;
  }
  char buf[48];
  if (rv >= CKR_VENDOR_DEFINED) {
    std::snprintf(buf, sizeof(buf), "CKR_VENDOR_DEFINED+0x%lx",
                  static_cast<unsigned long>(rv - CKR_VENDOR_DEFINED));
  } else {
    std::snprintf(buf, sizeof(buf), "CKR_0x%08lx", static_cast<unsigned long>(rv));
  }
  return buf;
}

StatusCode CkrCode(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return StatusCode::kOk;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
      return StatusCode::kPermissionDenied;
    // Caused by the wrapped bytes (or the data key) the caller passed: the
    // engine reports these as a uniform authentication failure.
    case CKR_WRAPPED_KEY_INVALID:
    case CKR_WRAPPED_KEY_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
      return StatusCode::kInvalidArgument;
    // The key or token cannot do what was asked: configuration, not input.
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_NOT_WRAPPABLE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_WRAPPING_KEY_TYPE_INCONSISTENT:
    case CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_FUNCTION_NOT_SUPPORTED:
      return StatusCode::kFailedPrecondition;
    // The object a handle named is gone (deleted on the token).
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_WRAPPING_KEY_HANDLE_INVALID:
    case CKR_UNWRAPPING_KEY_HANDLE_INVALID:
      return StatusCode::kNotFound;
    // The device, the token or the session: transient, retry later.
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_COUNT:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_PARALLEL_NOT_SUPPORTED:
    case CKR_SESSION_READ_ONLY:
    case CKR_SESSION_EXISTS:
    case CKR_SESSION_READ_ONLY_EXISTS:
    case CKR_SESSION_READ_WRITE_SO_EXISTS:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_GENERAL_ERROR:
    case CKR_HOST_MEMORY:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

bool IsRecoverable(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    // Not a device fault, but a session left mid-operation is unusable
    // until it is closed: reopening is the cure.
    case CKR_OPERATION_ACTIVE:
      return true;
    default:
      return false;
  }
}

bool IsStaleHandle(CK_RV rv) {
  return rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
         rv == CKR_WRAPPING_KEY_HANDLE_INVALID || rv == CKR_UNWRAPPING_KEY_HANDLE_INVALID;
}

Status CkrError(std::string_view function, CK_RV rv, std::string_view context) {
  std::string msg = "pkcs11: " + std::string(function) + ": " + CkrName(rv);
  const char* pin = PinProblem(rv);
  if (!context.empty() || pin != nullptr) {
    msg += " (";
    msg += context;
    if (pin != nullptr) msg += std::string(context.empty() ? "" : ": ") + pin;
    msg += ")";
  }
  StatusCode code = CkrCode(rv);
  if (code == StatusCode::kOk) code = StatusCode::kInternal;  // CKR_OK is not an error
  return Status(code, std::move(msg));
}

}  // namespace ses::pkcs11
