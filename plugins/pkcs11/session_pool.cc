#include "session_pool.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <utility>

#include "ckr.h"

namespace ses::pkcs11 {

bool SessionLoggedIn(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session) {
  CK_SESSION_INFO info{};
  return fn->C_GetSessionInfo(session, &info) == CKR_OK &&
         (info.state == CKS_RW_USER_FUNCTIONS || info.state == CKS_RO_USER_FUNCTIONS);
}

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      fn_(other.fn_),
      handle_(other.handle_),
      token_(std::move(other.token_)),
      last_rv_(other.last_rv_) {}

Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(handle_, token_->generation);
}

Status Lease::Check(std::string_view function, CK_RV rv, std::string_view context) {
  if (rv == CKR_OK) return OkStatus();
  last_rv_ = rv;
  return CkrError(function, rv, context);
}

SessionPool::SessionPool(const Module& module, TokenSelector token, PoolOptions options)
    : module_(module), selector_(std::move(token)), options_(options) {
  // The salt only keeps the remembered digest of a rejected PIN from being
  // a plain hash; if RAND fails it stays zero, which is still no PIN.
  if (RAND_bytes(pin_salt_.data(), static_cast<int>(pin_salt_.size())) != 1) ERR_clear_error();
}

SessionPool::~SessionPool() {
  std::lock_guard lock(mu_);
  CK_FUNCTION_LIST* fn = module_.fn();
  // Close only our own sessions: C_CloseAllSessions would end every other
  // user's in the process too.
  for (CK_SESSION_HANDLE h : idle_) fn->C_CloseSession(h);
  for (CK_SESSION_HANDLE h : stale_) fn->C_CloseSession(h);
  internal::Cleanse(pin_salt_.data(), pin_salt_.size());
}

std::string SessionPool::Context() const { return "token '" + selector_.label + "'"; }

Status SessionPool::Run(const PinSource& pin, const std::function<Status(Lease&)>& op) {
  for (int attempt = 0;; ++attempt) {
    CK_RV rv = CKR_OK;
    Status status;
    {
      auto lease = Acquire(pin, rv);
      if (!lease.ok()) {
        status = lease.status();
      } else {
        status = op(*lease);
        if (status.ok()) return status;
        rv = lease->last_rv();
        if (rv != CKR_OK && !IsRecoverable(rv)) {
          // A session closed while a call was running can make the call
          // fail with anything (SoftHSM2 says CKR_FUNCTION_FAILED): if the
          // session is gone now, that is what to recover from.
          CK_SESSION_INFO info{};
          CK_RV alive = module_.fn()->C_GetSessionInfo(lease->handle(), &info);
          if (IsRecoverable(alive)) rv = alive;
        }
        // Before the lease goes back, so its session counts as old.
        if (IsRecoverable(rv)) Invalidate(lease->token().generation);
      }
    }
    if (!IsRecoverable(rv) || attempt >= options_.retries) return status;
  }
}

StatusOr<Lease> SessionPool::Acquire(const PinSource& pin, CK_RV& rv) {
  rv = CKR_OK;
  const auto deadline = std::chrono::steady_clock::now() + options_.session_wait;
  std::unique_lock lock(mu_);
  if (waiters_.empty()) {
    if (auto taken = TryTakeLocked(pin, rv)) return std::move(*taken);
  }
  // Queue up: only the front waiter may take, so a thread that just gave a
  // session back cannot barge past threads that have been waiting.
  Waiter me;
  waiters_.push_back(&me);
  auto leave = [&] {
    bool was_front = waiters_.front() == &me;
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
    if (was_front) WakeFrontLocked();
  };
  for (;;) {
    if (waiters_.front() == &me) {
      if (auto taken = TryTakeLocked(pin, rv)) {
        leave();
        return std::move(*taken);
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      leave();
      return UnavailableError("pkcs11: no PKCS#11 session free after " +
                              std::to_string(options_.session_wait.count()) + " ms (" + Context() +
                              ", " + std::to_string(capacity_) + " sessions)");
    }
    me.cv.wait_until(lock, deadline);
  }
}

std::optional<StatusOr<Lease>> SessionPool::TryTakeLocked(const PinSource& pin, CK_RV& rv) {
  CK_FUNCTION_LIST* fn = module_.fn();
  for (;;) {
    if (open_ == nullptr) {
      // Old sessions still leased: their holders are about to fail and give
      // them back; the opening waits for that (see session_pool.h).
      if (stale_in_use_ > 0) return std::nullopt;
      Status s = OpenLocked(pin, rv);
      if (!s.ok()) return StatusOr<Lease>(std::move(s));
      continue;
    }
    if (!idle_.empty()) {
      CK_SESSION_HANDLE h = idle_.back();
      idle_.pop_back();
      ++in_use_;
      return StatusOr<Lease>(Lease(this, fn, h, open_));
    }
    if (in_use_ >= capacity_) return std::nullopt;
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    CK_RV r = fn->C_OpenSession(open_->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
    if (r == CKR_OK && open_->logged_in && !SessionLoggedIn(fn, h)) {
      // The process lost its login since this generation began: start over.
      stale_.push_back(h);
      InvalidateLocked(open_->generation);
      continue;
    }
    if (r == CKR_OK) {
      ++in_use_;
      return StatusOr<Lease>(Lease(this, fn, h, open_));
    }
    if (r == CKR_SESSION_COUNT && in_use_ > 0) {
      // The token is fuller than it said (other applications): make do.
      capacity_ = in_use_;
      return std::nullopt;
    }
    rv = r;
    if (IsRecoverable(r)) InvalidateLocked(open_->generation);
    return StatusOr<Lease>(CkrError("C_OpenSession", r, Context()));
  }
}

void SessionPool::Release(CK_SESSION_HANDLE handle, uint64_t generation) {
  std::lock_guard lock(mu_);
  if (open_ != nullptr && generation == open_->generation) {
    --in_use_;
    idle_.push_back(handle);
  } else {
    --stale_in_use_;
    stale_.push_back(handle);
  }
  WakeFrontLocked();
}

void SessionPool::Invalidate(uint64_t generation) {
  std::lock_guard lock(mu_);
  InvalidateLocked(generation);
}

void SessionPool::InvalidateLocked(uint64_t generation) {
  if (open_ == nullptr || open_->generation != generation) return;  // done already
  open_.reset();
  ++generation_;
  stale_.insert(stale_.end(), idle_.begin(), idle_.end());
  idle_.clear();
  stale_in_use_ += in_use_;
  in_use_ = 0;
  WakeFrontLocked();
}

void SessionPool::WakeFrontLocked() {
  if (!waiters_.empty()) waiters_.front()->cv.notify_one();
}

Status SessionPool::OpenLocked(const PinSource& pin, CK_RV& rv) {
  CK_FUNCTION_LIST* fn = module_.fn();
  // Errors are expected: these sessions are usually dead already.
  for (CK_SESSION_HANDLE h : stale_) fn->C_CloseSession(h);
  stale_.clear();

  auto found = FindSlot(module_, selector_);
  if (!found.ok()) {
    if (was_open_ && found.status().code() == StatusCode::kNotFound) {
      return UnavailableError("pkcs11: " + Context() + " is no longer present in module " +
                              module_.path());
    }
    return found.status();
  }
  SES_ASSIGN_OR_RETURN(Mechanisms mechanisms,
                       ProbeMechanisms(module_, found->slot, selector_.label));
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  CK_RV r = fn->C_OpenSession(found->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
  if (r != CKR_OK) {
    rv = r;
    return CkrError("C_OpenSession", r, Context());
  }
  bool logged_in = false;
  Status login = LoginLocked(h, found->info, pin, rv, logged_in);
  if (!login.ok()) {
    fn->C_CloseSession(h);
    return login;
  }
  if (mechanisms.Has(CKM_AES_KEY_WRAP_PAD, CKF_WRAP | CKF_UNWRAP)) {
    mechanisms.set_kwp_exact(ProbeKeyWrapPad(module_, h));
  }
  auto token = std::make_shared<OpenToken>();
  token->slot = found->slot;
  token->generation = generation_;
  token->mechanisms = std::move(mechanisms);
  token->label = selector_.label;
  token->logged_in = logged_in;
  open_ = std::move(token);
  capacity_ = SessionCapacity(found->info, options_.pool_size);
  idle_.push_back(h);
  was_open_ = true;
  return OkStatus();
}

Status SessionPool::LoginLocked(CK_SESSION_HANDLE session, const CK_TOKEN_INFO& info,
                                const PinSource& pin, CK_RV& rv, bool& logged_in) {
  CK_FUNCTION_LIST* fn = module_.fn();
  if (SessionLoggedIn(fn, session)) {
    logged_in = true;
    return OkStatus();  // this process is logged in already
  }
  SES_ASSIGN_OR_RETURN(std::optional<SecretBytes> user_pin, pin());
  if (!user_pin.has_value()) {
    if ((info.flags & CKF_LOGIN_REQUIRED) == 0) return OkStatus();
    return FailedPreconditionError(
        "pkcs11: no PIN for " + Context() +
        ": give pin-source or pin-value in the key URI, or pin_env or pin_file in [provider.pkcs11]");
  }
  std::optional<std::array<uint8_t, 32>> digest = PinDigest(*user_pin);
  if (digest.has_value() && rejected_pin_.has_value() &&
      internal::ConstantTimeEquals(digest->data(), rejected_pin_->data(), digest->size())) {
    return PermissionDeniedError("pkcs11: C_Login: CKR_PIN_INCORRECT (" + Context() +
                                 ": wrong PIN; not tried again until the PIN changes)");
  }
  CK_RV r = fn->C_Login(session, CKU_USER, user_pin->data(), user_pin->size());
  if (r == CKR_OK || r == CKR_USER_ALREADY_LOGGED_IN) {
    rejected_pin_.reset();
    logged_in = true;
    return OkStatus();
  }
  if (r == CKR_PIN_INCORRECT) rejected_pin_ = digest;
  rv = r;
  return CkrError("C_Login", r, Context());
}

std::optional<std::array<uint8_t, 32>> SessionPool::PinDigest(const SecretBytes& pin) const {
  std::array<uint8_t, 32> digest{};
  SecretBytes input(pin_salt_.size() + pin.size());
  std::copy(pin_salt_.begin(), pin_salt_.end(), input.data());
  std::copy(pin.data(), pin.data() + pin.size(), input.data() + pin_salt_.size());
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return std::nullopt;  // no memo then: every login is tried
  }
  return digest;
}

Status SessionPool::Health() {
  std::optional<CK_SLOT_ID> slot;
  {
    std::lock_guard lock(mu_);
    if (open_ != nullptr) slot = open_->slot;
  }
  if (!slot.has_value()) {
    // Nothing open: not yet, or dropped after a failure such as the device
    // going away. Look for the token as an opening would (no session, no
    // login), so an outage shows here even while no session is open.
    auto found = FindSlot(module_, selector_);
    if (!found.ok()) return UnavailableError(found.status().message());
    return OkStatus();
  }
  CK_TOKEN_INFO info{};
  CK_RV r = module_.fn()->C_GetTokenInfo(*slot, &info);
  if (r != CKR_OK) return UnavailableError(CkrError("C_GetTokenInfo", r, Context()).message());
  if (!selector_.Matches(info)) {
    return UnavailableError("pkcs11: slot " + std::to_string(*slot) + " no longer holds " +
                            Context());
  }
  return OkStatus();
}

}  // namespace ses::pkcs11
