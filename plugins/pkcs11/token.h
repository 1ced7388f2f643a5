// Token-level queries on a module: which slot holds a token, which
// mechanisms that token offers for wrapping, and how its AES key wrap with
// padding really behaves.
//
// The session pool calls these when it opens a token and again after a
// recovery (a token may come back in another slot). Only ProbeKeyWrapPad
// needs a session (the pool's first, before anyone else may use it).
//
// Thread safety: free functions; a Mechanisms is filled in by the pool
// before it is shared, and only read after that.
#pragma once

#include <p11-kit/pkcs11.h>

#include <map>
#include <string>

#include "module.h"
#include "ses/status.h"
#include "uri.h"

namespace ses::pkcs11 {

// What a token says about the mechanisms SES may use (CKM_ -> CKF_ flags).
class Mechanisms {
 public:
  Mechanisms() = default;
  explicit Mechanisms(std::map<CK_MECHANISM_TYPE, CK_FLAGS> flags) : flags_(std::move(flags)) {}

  // True if the token lists `mechanism` with every flag in `flags`.
  bool Has(CK_MECHANISM_TYPE mechanism, CK_FLAGS flags) const {
    auto it = flags_.find(mechanism);
    return it != flags_.end() && (it->second & flags) == flags;
  }

  // True if CKM_AES_KEY_WRAP_PAD gives back a key of the length it wrapped
  // when that length is not a multiple of 8 (see ProbeKeyWrapPad).
  bool kwp_exact() const { return kwp_exact_; }
  void set_kwp_exact(bool exact) { kwp_exact_ = exact; }

 private:
  std::map<CK_MECHANISM_TYPE, CK_FLAGS> flags_;
  bool kwp_exact_ = false;
};

struct FoundSlot {
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info{};
};

// The first slot whose token matches `token` (kNotFound naming the label and
// the module if none does). Duplicate labels are the operator's to avoid:
// the first match in slot-list order wins.
StatusOr<FoundSlot> FindSlot(const Module& module, const TokenSelector& token);

// The flags of the mechanisms SES cares about, from C_GetMechanismList and
// C_GetMechanismInfo.
StatusOr<Mechanisms> ProbeMechanisms(const Module& module, CK_SLOT_ID slot,
                                     const std::string& token_label);

// Whether the token's CKM_AES_KEY_WRAP_PAD keeps a partial last block:
// wraps and unwraps a 7-byte key under a throwaway session AES key and
// checks that 7 bytes come back. SoftHSM2 2.6 zero-pads the key to whole
// 8-byte blocks before wrapping (so its output differs from RFC 5649 and
// unwrap returns the padded length); a correct module passes. Any failure
// reads as "not exact", the safe answer. Leaves no objects behind.
bool ProbeKeyWrapPad(const Module& module, CK_SESSION_HANDLE session);

// The token's label as a string (trailing blanks dropped).
std::string TokenLabel(const CK_TOKEN_INFO& info);

// Sessions per token this token allows for `wanted`: ulMaxSessionCount and
// ulMaxRwSessionCount cap it unless "effectively infinite" or unknown.
size_t SessionCapacity(const CK_TOKEN_INFO& info, size_t wanted);

}  // namespace ses::pkcs11
