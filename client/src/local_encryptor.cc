// LocalEncryptor: data keys from the server, sealing and opening here.
#include "ses/client/local_encryptor.h"

#include <filesystem>
#include <system_error>

#include "ses/engine.h"
#include "ses/registry.h"

namespace ses::client {
namespace {

constexpr char kCipherPlugin[] = "cipher-openssl";

StatusOr<std::shared_ptr<CipherProvider>> LoadCipher(const PluginConfig& config) {
  const std::string file = std::string("ses_") + kCipherPlugin + ".so";
  std::vector<std::filesystem::path> dirs = Registry::DefaultDirectories();
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::exists(dir / file, ec)) continue;
    // The registry may go: the cipher keeps its library loaded.
    Registry registry;
    SES_RETURN_IF_ERROR(registry.Load(dir / file));
    return registry.NewCipher(kCipherPlugin, config);
  }
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir.string();
  return NotFoundError("local encryption needs the " + std::string(kCipherPlugin) + " plugin (" + file +
                       "); not found in " + (searched.empty() ? std::string("any plugin directory") : searched) +
                       " (set SES_PLUGIN_DIR)");
}

}  // namespace

Status CheckGrantContext(const HeaderInfo& grant, const EncryptionContext& requested) {
  if (grant.context == requested) return OkStatus();
  // Neither context goes into the message: they may name other tenants.
  return FailedPreconditionError("server returned a data key for a different encryption context");
}

StatusOr<std::unique_ptr<LocalEncryptor>> LocalEncryptor::Create(Client& client, const PluginConfig& cipher_config) {
  SES_ASSIGN_OR_RETURN(auto cipher, LoadCipher(cipher_config));
  return Create(client, std::move(cipher));
}

std::unique_ptr<LocalEncryptor> LocalEncryptor::Create(Client& client, std::shared_ptr<CipherProvider> cipher) {
  return std::unique_ptr<LocalEncryptor>(new LocalEncryptor(client, std::move(cipher)));
}

StatusOr<std::unique_ptr<LocalEnvelope>> LocalEncryptor::NewEnvelope(std::string_view keyring,
                                                                     const EncryptionContext& context) {
  SES_ASSIGN_OR_RETURN(DataKeyGrant grant, client_.GenerateDataKey(keyring, context));
  // Create verifies the key against its header, so the context read back
  // is the one the key is bound to.
  SES_ASSIGN_OR_RETURN(auto envelope, LocalEnvelope::Create(cipher_, std::move(grant.data_key), grant.encrypted_key));
  SES_RETURN_IF_ERROR(CheckGrantContext(envelope->info(), context));
  return envelope;
}

StatusOr<std::vector<uint8_t>> LocalEncryptor::Encrypt(std::string_view keyring, const EncryptionContext& context,
                                                       std::span<const uint8_t> plaintext) {
  SES_ASSIGN_OR_RETURN(auto envelope, NewEnvelope(keyring, context));
  return envelope->Encrypt(plaintext);
}

StatusOr<std::vector<uint8_t>> LocalEncryptor::Decrypt(std::span<const uint8_t> ciphertext,
                                                       const EncryptionContext& context) {
  // DecryptDataKey sends only the header; the body stays here.
  SES_ASSIGN_OR_RETURN(SecretBytes key, client_.DecryptDataKey(ciphertext, context));
  SES_ASSIGN_OR_RETURN(auto envelope, LocalEnvelope::Create(cipher_, std::move(key), ciphertext));
  // The server should have refused a key for another context; never open
  // a message under one regardless.
  SES_RETURN_IF_ERROR(CheckGrantContext(envelope->info(), context));
  return envelope->Decrypt(ciphertext);
}

}  // namespace ses::client
