// The wrapping mechanisms: which one a key and token get, and the PKCS#11
// calls that wrap, unwrap, generate data keys and create master keys.
//
// Data keys are host bytes; the master key never leaves the token.
//  - AES key wrap (with padding, RFC 5649; or RFC 3394) and RSA-OAEP go
//    through C_WrapKey / C_UnwrapKey on a temporary session object
//    (CKK_GENERIC_SECRET, extractable, not sensitive) that is destroyed
//    before the call returns. `aad` is not bound (these mechanisms cannot);
//    the envelope's header tag authenticates the encryption context.
//    SoftHSM2 2.6 pads a key to whole 8-byte blocks before its
//    CKM_AES_KEY_WRAP_PAD (not RFC 5649 for other lengths, and the unwrap
//    returns the padded key); the session pool probes for that, and on such
//    a token a data key that is not a multiple of 8 bytes is refused rather
//    than silently returned longer. SES's data keys are 32 bytes.
//  - AES-GCM binds `aad`. Wrapped bytes are IV (12, from C_GenerateRandom) ||
//    ciphertext || tag (16). SoftHSM2 2.6 lists CKM_AES_GCM for encrypt and
//    decrypt only, not wrap/unwrap, so on a token without CKF_WRAP and
//    CKF_UNWRAP for GCM the value is sealed with C_Encrypt / C_Decrypt under
//    the master key instead (same bytes either way); such master keys need
//    CKA_ENCRYPT / CKA_DECRYPT, which CreateKey then sets.
//  - RSA-OAEP wraps with the public key object and unwraps with the private
//    key. SHA-256 with MGF1-SHA-256 is what `rsa-oaep` means. SoftHSM2 2.6
//    refuses any OAEP hash but SHA-1 (CKR_ARGUMENTS_BAD); under `auto` a
//    token that refuses SHA-256 gets OAEP with SHA-1 and MGF1-SHA-1 (which
//    is sound for OAEP: its security does not rest on collision
//    resistance), and unwrap under `auto` tries SHA-256 then SHA-1.
//
// Unwrap failures caused by the input are kInvalidArgument. SoftHSM2 2.6
// reports them (a changed byte, the wrong key, other AAD) as
// CKR_GENERAL_ERROR; after C_UnwrapKey or C_Decrypt that code counts as the
// input's fault if the session still answers C_GetSessionInfo.
//
// The mechanism is not recorded in the wrapped bytes: a key's wraps unwrap
// under the same `mechanism` setting on a token with the same mechanisms.
//
// Thread safety: free functions on the caller's lease; OaepMemo is atomic.
#pragma once

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config.h"
#include "key_objects.h"
#include "session_pool.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"
#include "token.h"

namespace ses::pkcs11 {

inline constexpr size_t kGcmIvBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

// How one key on one token wraps.
struct Plan {
  Mechanism mechanism = Mechanism::kAesKeyWrapPad;  // never kAuto
  bool gcm_by_encrypt = false;  // GCM through C_Encrypt/C_Decrypt
  bool oaep_sha1_allowed = false;  // `auto` on RSA: SHA-1 if SHA-256 is refused
  // CKM_AES_KEY_WRAP_PAD keeps partial blocks (see ProbeKeyWrapPad); if not,
  // only data keys of whole 8-byte blocks round-trip, and others are refused.
  bool kwp_exact = true;
};

// Per token: whether it refused OAEP with SHA-256, so `auto` stops asking.
struct OaepMemo {
  std::atomic<bool> sha256_refused{false};
};

// The plan for a key of `key_type` under the configured mechanism, or
// kFailedPrecondition naming the mechanism and token when the token lacks
// it or the key cannot use it.
StatusOr<Plan> ChoosePlan(Mechanism configured, CK_KEY_TYPE key_type, const Mechanisms& mechanisms,
                          const std::string& context);

// Wraps host bytes `data_key` under `key`.
StatusOr<std::vector<uint8_t>> WrapDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                           std::span<const uint8_t> data_key,
                                           std::span<const uint8_t> aad, OaepMemo& memo,
                                           const std::string& context);

// Unwraps `wrapped` under `key` into host bytes.
StatusOr<SecretBytes> UnwrapDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                    std::span<const uint8_t> wrapped, std::span<const uint8_t> aad,
                                    OaepMemo& memo, const std::string& context);

struct GeneratedKey {
  SecretBytes value;
  std::vector<uint8_t> wrapped;
};

// Has the token's RNG make an AES key of `len` bytes (16, 24 or 32) as a
// session object, wraps it under `key` and reads its value.
StatusOr<GeneratedKey> GenerateDataKey(Lease& s, const Plan& plan, const KeyObject& key,
                                       size_t len, std::span<const uint8_t> aad, OaepMemo& memo,
                                       const std::string& context);

// Generates the AES-256 token key SES uses as a master key: private,
// sensitive, never extractable, wrap and unwrap allowed (and encrypt and
// decrypt only when `plan` seals GCM by C_Encrypt), labelled `uri.object`
// with CKA_ID `id`.
Status CreateMasterKey(Lease& s, const Plan& plan, const KeyUri& uri,
                       std::span<const uint8_t> id, const std::string& context);

}  // namespace ses::pkcs11
