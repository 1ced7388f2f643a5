// SessionPool: the sessions SES keeps open on one token, the login, and the
// recovery when the token or its sessions go away.
//
// A token is opened lazily, by the first caller: find its slot by label,
// read ulMaxSessionCount, probe its mechanisms, open a R/W session and log
// in as the user (once: login state is shared by every session of the
// process, so a token some other part of the process logged in is used as
// is, and CKR_USER_ALREADY_LOGGED_IN is fine). Further sessions are opened on
// demand up to min(pool_size, the token's session limits).
//
// Callers wait in FIFO order for a free session, at most session_wait_ms,
// then get kUnavailable "no PKCS#11 session free after N ms". A session is
// leased to one caller at a time. Operations run outside the pool's lock;
// only opening the token (slot lookup, C_OpenSession, the PIN source,
// C_Login) runs under it, and none of that calls back into the pool.
//
// Recovery: when an operation fails with CKR_SESSION_HANDLE_INVALID,
// CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR (or CKR_OPERATION_ACTIVE), the
// pool starts a new generation: every session of the old one is dropped,
// and once the last old lease is back they are closed, the slot is found
// again by label, a session opened and the user logged in again; then the
// operation is retried, at most `retries` times. Closing old sessions before
// opening any new one matters: a module may hand out a closed session's
// handle number again, and closing it late would close a new session.
// Two more signs start a new generation: any other failure after which
// C_GetSessionInfo says the session is gone (a call whose session is closed
// mid-way may fail with anything), and a session opened later in a
// generation that is not logged in (the login was lost, say to a
// C_CloseAllSessions elsewhere in the process).
//
// A PIN the token rejected with CKR_PIN_INCORRECT is not tried again (a
// salted hash of it is remembered) until the PIN source yields another one:
// real HSMs lock the user out after a few wrong tries, and a busy service
// would otherwise spend them in milliseconds.
//
// Thread safety: every method may be called from many threads at once.
// Ownership: the pool owns its sessions and closes them when destroyed;
// all leases must have been returned by then. The Module outlives it.
#pragma once

#include <p11-kit/pkcs11.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "module.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"
#include "token.h"
#include "uri.h"

namespace ses::pkcs11 {

struct PoolOptions {
  size_t pool_size = 4;
  std::chrono::milliseconds session_wait{5000};
  int retries = 2;
};

// Yields the user PIN when a login is needed; nullopt if none is configured.
using PinSource = std::function<StatusOr<std::optional<SecretBytes>>()>;

// What one opening of the token found. Replaced, never changed, on reopen.
struct OpenToken {
  CK_SLOT_ID slot = 0;
  uint64_t generation = 0;
  Mechanisms mechanisms;
  std::string label;
  bool logged_in = false;  // the user is logged in (not a login-free token)
};

// True if `session` is in a user (logged-in) state.
bool SessionLoggedIn(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session);

class SessionPool;

// One session, leased to the calling thread until destroyed.
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return fn_; }
  const OpenToken& token() const { return *token_; }

  // OK for CKR_OK. Otherwise remembers `rv` (so the pool can tell whether to
  // recover) and returns CkrError(function, rv, context).
  Status Check(std::string_view function, CK_RV rv, std::string_view context);
  CK_RV last_rv() const { return last_rv_; }
  // After a failure that was handled (a fallback that then worked).
  void ForgetRv() { last_rv_ = CKR_OK; }

 private:
  friend class SessionPool;
  Lease(SessionPool* pool, CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE handle,
        std::shared_ptr<const OpenToken> token)
      : pool_(pool), fn_(fn), handle_(handle), token_(std::move(token)) {}

  SessionPool* pool_;
  CK_FUNCTION_LIST* fn_;
  CK_SESSION_HANDLE handle_;
  std::shared_ptr<const OpenToken> token_;
  CK_RV last_rv_ = CKR_OK;
};

class SessionPool {
 public:
  SessionPool(const Module& module, TokenSelector token, PoolOptions options);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Runs `op` on a leased session; recovers and retries as described above.
  // `pin` is asked only if the token has to be logged in.
  Status Run(const PinSource& pin, const std::function<Status(Lease&)>& op);

  // kUnavailable unless the token answers: C_GetTokenInfo on the open
  // token's slot succeeds and still shows this token, or, while nothing is
  // open (never opened, or dropped after a failure), the token is found in
  // the module's slot list. Opens no session and never logs in.
  Status Health();

  const std::string& label() const { return selector_.label; }

 private:
  friend class Lease;
  struct Waiter {
    std::condition_variable cv;
  };

  // A session for the calling thread; `rv` gets the failing CK_RV, if any.
  StatusOr<Lease> Acquire(const PinSource& pin, CK_RV& rv);
  // Takes a session if one can be had now; nullopt means "wait".
  std::optional<StatusOr<Lease>> TryTakeLocked(const PinSource& pin, CK_RV& rv);
  void Release(CK_SESSION_HANDLE handle, uint64_t generation);
  // Starts a new generation unless `generation` is already past.
  void Invalidate(uint64_t generation);
  void InvalidateLocked(uint64_t generation);
  Status OpenLocked(const PinSource& pin, CK_RV& rv);
  // Logs the user in unless the process already is; `logged_in` tells
  // whether the session ends up in a user state.
  Status LoginLocked(CK_SESSION_HANDLE session, const CK_TOKEN_INFO& info, const PinSource& pin,
                     CK_RV& rv, bool& logged_in);
  std::optional<std::array<uint8_t, 32>> PinDigest(const SecretBytes& pin) const;
  void WakeFrontLocked();
  std::string Context() const;

  const Module& module_;
  const TokenSelector selector_;
  const PoolOptions options_;
  std::array<uint8_t, 16> pin_salt_{};

  std::mutex mu_;
  std::deque<Waiter*> waiters_;              // FIFO; only the front may take
  std::shared_ptr<const OpenToken> open_;    // null while closed
  uint64_t generation_ = 0;
  size_t capacity_ = 1;
  size_t in_use_ = 0;                        // leases of the current generation
  std::vector<CK_SESSION_HANDLE> idle_;
  size_t stale_in_use_ = 0;                  // leases of older generations
  std::vector<CK_SESSION_HANDLE> stale_;     // closed before the next opening
  bool was_open_ = false;
  std::optional<std::array<uint8_t, 32>> rejected_pin_;
};

}  // namespace ses::pkcs11
