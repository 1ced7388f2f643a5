// LocalEncryptor: envelope encryption on the client's side. The server only
// hands out and opens data keys (GenerateDataKey, DecryptDataKey); messages
// are sealed and opened here with ses::LocalEnvelope, so plaintext never goes
// to the server. The messages are ordinary SES messages: sesd's Decrypt opens
// them too, and this class opens sesd's.
//
// The cipher comes from the cipher-openssl plugin, loaded through a
// ses::Registry from Registry::DefaultDirectories() (SES_PLUGIN_DIR, or the
// plugins beside the executable), unless the caller passes its own.
//
// Data keys stay in SecretBytes inside LocalEnvelope and are never logged.
//
// The server is not trusted to have honoured the context: each data key's
// authenticated context (the header LocalEnvelope verified the key against)
// must equal the one the caller asked for, or the key is refused
// (CheckGrantContext). Which keyring a key came from cannot be checked here:
// the header names master keys, not keyrings.
//
// Thread safety: all methods may be called concurrently. The Client must
// outlive the LocalEncryptor.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "ses/cipher.h"
#include "ses/client/client.h"
#include "ses/key_provider.h"
#include "ses/local_envelope.h"

namespace ses::client {

// kFailedPrecondition "server returned a data key for a different encryption
// context" unless `grant.context` (a verified data key header's) equals
// `requested`. LocalEncryptor checks every key it is given; it is public for
// callers that pair Client::GenerateDataKey with LocalEnvelope themselves.
Status CheckGrantContext(const HeaderInfo& grant, const EncryptionContext& requested);

class LocalEncryptor {
 public:
  // Loads ses_cipher-openssl.so from the default plugin directories, with
  // `cipher_config` as its settings (e.g. a property query).
  static StatusOr<std::unique_ptr<LocalEncryptor>> Create(Client& client, const PluginConfig& cipher_config = {});
  // Uses the caller's cipher.
  static std::unique_ptr<LocalEncryptor> Create(Client& client, std::shared_ptr<CipherProvider> cipher);

  // One GenerateDataKey call, then the message is sealed locally.
  StatusOr<std::vector<uint8_t>> Encrypt(std::string_view keyring, const EncryptionContext& context,
                                         std::span<const uint8_t> plaintext);
  // One DecryptDataKey call with the message's header (never the body),
  // then the message is opened locally. `context` must be the one it was
  // sealed with (the server checks it before releasing the key, and so does
  // this class after).
  StatusOr<std::vector<uint8_t>> Decrypt(std::span<const uint8_t> ciphertext, const EncryptionContext& context);

  // A fresh data key as an envelope that seals any number of messages, each
  // with its own message id and so its own key: one server call for many
  // messages. Drop it when the caller's key-reuse policy says so.
  StatusOr<std::unique_ptr<LocalEnvelope>> NewEnvelope(std::string_view keyring, const EncryptionContext& context);

 private:
  LocalEncryptor(Client& client, std::shared_ptr<CipherProvider> cipher) : client_(client), cipher_(std::move(cipher)) {}
  Client& client_;
  std::shared_ptr<CipherProvider> cipher_;
};

}  // namespace ses::client
