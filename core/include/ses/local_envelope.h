// LocalEnvelope: encrypts and decrypts messages under one data key the
// caller holds (from Engine::GenerateDataKey or a server's GenerateDataKey
// RPC), without any key provider, so plaintext never leaves the caller.
//
// The messages are standard envelope-v1 messages (docs/format.md): the header
// is the data key's header template (the `encrypted_key` that came with it)
// with a fresh random message id, so an engine holding the master keys it
// names opens them with Engine::Decrypt, and this class opens the engine's
// messages under the same data key.
//
// The data key stays in wiped memory for the object's life; nothing here
// logs or reports key bytes or plaintext.
//
// Thread safety: Encrypt, Decrypt and info may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ses/cipher.h"
#include "ses/envelope.h"
#include "ses/secret_bytes.h"
#include "ses/status.h"

namespace ses {

class LocalEnvelope {
 public:
  // Checks that `data_key` matches `encrypted_key` (its commitment and header
  // tag), so a wrong key from a server is refused here (kInvalidArgument
  // "data key does not match its encrypted key"). `encrypted_key` is a
  // DataKeyGrant's encrypted_key or the header of any message under the key
  // (at least Engine::HeaderSize bytes; trailing body bytes are ignored, and
  // so is its message id). Bytes that are no envelope header give
  // kInvalidArgument "encrypted key is not a valid SES header ..."; a suite
  // `cipher` does not offer gives kFailedPrecondition naming it.
  static StatusOr<std::unique_ptr<LocalEnvelope>> Create(std::shared_ptr<CipherProvider> cipher,
                                                         SecretBytes data_key,
                                                         std::span<const uint8_t> encrypted_key);
  virtual ~LocalEnvelope() = default;

  // A complete standard message: the header template with a fresh random
  // message id, then the framed body.
  virtual StatusOr<std::vector<uint8_t>> Encrypt(std::span<const uint8_t> plaintext) = 0;

  // Opens a message sealed under this data key: one whose header is this
  // key's header apart from the message id (this object's messages, the
  // engine's under the same key), or one rewrapped from such a message
  // (ReEncrypt: other wrapped keys, authenticated under the same data key).
  // A message under another data key: kFailedPrecondition "message is under
  // a different data key". Anything tampered with: kInvalidArgument
  // "authentication failed", as Engine::Decrypt says it.
  virtual StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext) = 0;

  // The decoded header template: context, wrapped keys, suite, frame size
  // (message id zero).
  virtual const HeaderInfo& info() const = 0;
};

}  // namespace ses
