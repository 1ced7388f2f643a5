#include <cstring>

#include <openssl/crypto.h>

#include "engine/engine_impl.h"
#include "envelope/format.h"
#include "util/random.h"

namespace ses {

namespace {

struct SuiteName_ {
  uint16_t id;
  std::string_view name;
};
constexpr SuiteName_ kSuiteNames[] = {
    {kSuiteAes256Gcm, "aes-256-gcm"},
    {kSuiteChaCha20Poly1305, "chacha20-poly1305"},
    {kSuiteAesGcmChaChaCascade, "aes-256-gcm+chacha20-poly1305"},
};

}  // namespace

std::string_view SuiteName(uint16_t suite_id) {
  for (const auto& s : kSuiteNames) {
    if (s.id == suite_id) return s.name;
  }
  return "unknown";
}

StatusOr<uint16_t> SuiteFromName(std::string_view name) {
  std::string names;
  for (const auto& s : kSuiteNames) {
    if (s.name == name) return s.id;
    names += (names.empty() ? "" : ", ") + std::string(s.name);
  }
  return InvalidArgumentError("unknown suite '" + std::string(name) + "' (known: " + names + ")");
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(EngineOptions options) {
  if (!options.cipher) return InvalidArgumentError("engine needs a cipher provider");
  std::map<uint16_t, std::unique_ptr<internal::AeadPool>> pools;
  for (const auto& suite : options.cipher->Suites()) {
    if (suite.key_len == 0 || suite.key_len > internal::kMaxSuiteKeySize || suite.tag_len == 0 ||
        suite.tag_len > internal::kMaxTagSize) {
      return InvalidArgumentError("cipher suite '" + suite.name + "' has unsupported key or tag length");
    }
    pools[suite.id] = std::make_unique<internal::AeadPool>(options.cipher, suite);
  }
  for (const auto& k : options.keyrings) {
    if (pools.find(k.suite_id) == pools.end()) {
      return FailedPreconditionError("keyring '" + k.name + "': suite " + std::string(SuiteName(k.suite_id)) +
                                     " is not provided by the loaded cipher plugin");
    }
  }
  SES_ASSIGN_OR_RETURN(auto keys, internal::KeyManager::Create(std::move(options.providers), std::move(options.keyrings)));
  return std::unique_ptr<Engine>(
      std::make_unique<internal::EngineImpl>(std::move(keys), std::move(pools), options.cache));
}

StatusOr<size_t> Engine::HeaderSize(std::span<const uint8_t> prefix) { return internal::DecodeHeaderSize(prefix); }

StatusOr<HeaderInfo> Engine::Inspect(std::span<const uint8_t> header) {
  SES_ASSIGN_OR_RETURN(size_t size, internal::DecodeHeaderSize(header));
  if (header.size() < size) return AuthenticationFailedError();
  size_t body = 0;
  return internal::DecodeHeader(header.first(size), body);
}

StatusOr<std::vector<uint8_t>> Engine::ReEncrypt(std::span<const uint8_t> ciphertext, std::string_view keyring) {
  SES_ASSIGN_OR_RETURN(size_t size, HeaderSize(ciphertext));
  if (ciphertext.size() < size) return AuthenticationFailedError();
  SES_ASSIGN_OR_RETURN(auto out, ReEncryptHeader(ciphertext.first(size), keyring));
  out.insert(out.end(), ciphertext.begin() + static_cast<ptrdiff_t>(size), ciphertext.end());
  return out;
}

namespace internal {

namespace {

// Decrypt-side cache id: everything a data key's recovery depends on.
std::string DecryptCacheId(const HeaderInfo& h, ByteView aad) {
  std::vector<uint8_t> id;
  PutU8(id, static_cast<uint8_t>(h.mode));
  PutBytes(id, aad);
  for (const auto& k : h.keys) {
    for (std::string_view s : {std::string_view(k.provider), std::string_view(k.key_uri),
                               std::string_view(k.key_version)}) {
      PutU16(id, static_cast<uint16_t>(s.size()));
      PutBytes(id, AsBytes(s));
    }
    PutU16(id, static_cast<uint16_t>(k.wrapped.size()));
    PutBytes(id, k.wrapped);
  }
  return std::string(AsChars(id));
}

constexpr size_t kMessageIdOffset = 11;  // magic 3, version 1, length 4, suite 2, mode 1

}  // namespace

EngineImpl::EngineImpl(std::unique_ptr<KeyManager> keys, std::map<uint16_t, std::unique_ptr<AeadPool>> pools,
                       CacheLimits limits)
    : keys_(std::move(keys)), pools_(std::move(pools)), cache_(limits) {}

StatusOr<AeadPool*> EngineImpl::Pool(uint16_t suite_id) {
  auto it = pools_.find(suite_id);
  if (it != pools_.end()) return it->second.get();
  // An id the format does not define is a damaged header; a defined one the
  // loaded cipher plugin lacks is a deployment problem worth naming.
  if (SuiteName(suite_id) == "unknown") return AuthenticationFailedError();
  return FailedPreconditionError("suite " + std::string(SuiteName(suite_id)) +
                                 " is not provided by the loaded cipher plugin");
}

Status EngineImpl::BeginMessage(std::string_view keyring, const EncryptionContext& context, uint64_t bytes,
                                SealingMessage& msg, std::vector<uint8_t>& out) {
  SES_ASSIGN_OR_RETURN(msg.keyring, keys_->FindKeyring(keyring));
  SES_RETURN_IF_ERROR(ValidateContext(context));
  SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(msg.keyring->suite_id));
  const SuiteInfo& suite = pool->suite();
  msg.tag_len = suite.tag_len;

  std::vector<uint8_t> aad = EncodeContext(context);
  std::string cache_id = msg.keyring->name;
  cache_id.push_back('\0');
  cache_id.append(AsChars(aad));
  msg.key = cache_.GetForEncrypt(cache_id, bytes);
  if (!msg.key) {
    SES_ASSIGN_OR_RETURN(auto fresh, keys_->NewDataKey(*msg.keyring, aad));
    HeaderInfo h;
    h.suite_id = suite.id;
    h.mode = msg.keyring->mode;
    h.frame_size = msg.keyring->frame_size;
    h.context = context;
    h.keys = fresh->wrapped;
    fresh->header_template = EncodeHeaderBody(h, suite.tag_len);
    if (fresh->header_template.size() + suite.tag_len > kMaxHeaderSize) {
      return InvalidArgumentError("header would exceed " + std::to_string(kMaxHeaderSize) + " bytes");
    }
    fresh->messages = 1;
    fresh->bytes = bytes;
    msg.key = fresh;
    cache_.PutForEncrypt(cache_id, msg.key);
  }

  // Header: the template with this message's id, commitment and tag.
  const std::vector<uint8_t>& tmpl = msg.key->header_template;
  const size_t body = tmpl.size();
  const size_t start = out.size();
  out.resize(start + body + suite.tag_len);
  uint8_t* header = out.data() + start;
  std::memcpy(header, tmpl.data(), body);
  SES_RETURN_IF_ERROR(RandomBytesBatched(header + kMessageIdOffset, kMessageIdSize));
  MessageSecrets secrets;
  DeriveMessageSecrets(*msg.key, suite, ByteView(header + kMessageIdOffset, kMessageIdSize), secrets);
  std::memcpy(header + body - kCommitmentSize, secrets.commitment().data(), kCommitmentSize);

  SES_ASSIGN_OR_RETURN(auto lease, pool->Acquire());
  msg.aead.emplace(std::move(lease));
  SES_RETURN_IF_ERROR((*msg.aead)->SetKey(secrets.key()));
  return SealHeaderTag(**msg.aead, ByteView(header, body), std::span<uint8_t>(header + body, suite.tag_len));
}

StatusOr<std::vector<uint8_t>> EngineImpl::Encrypt(std::string_view keyring, const EncryptionContext& context,
                                                   std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out;
  SealingMessage msg;
  SES_RETURN_IF_ERROR(BeginMessage(keyring, context, plaintext.size(), msg, out));
  const size_t fs = msg.keyring->frame_size;
  // The last frame is final even when full: a regular frame promises more.
  size_t regular = plaintext.size() / fs;
  if (regular > 0 && plaintext.size() % fs == 0) --regular;
  if (regular + 1 > kMaxFrames) return InvalidArgumentError("message has too many frames for its frame size");
  const size_t final_len = plaintext.size() - regular * fs;
  size_t pos = out.size();
  out.resize(pos + regular * SealedFrameSize(kFrameRegular, fs, msg.tag_len) +
             SealedFrameSize(kFrameFinal, final_len, msg.tag_len));
  uint64_t seq = 1;
  for (size_t i = 0; i < regular; ++i, ++seq) {
    size_t n = SealedFrameSize(kFrameRegular, fs, msg.tag_len);
    SES_RETURN_IF_ERROR(SealFrame(**msg.aead, seq, kFrameRegular, plaintext.subspan(i * fs, fs),
                                  std::span<uint8_t>(out.data() + pos, n)));
    pos += n;
  }
  SES_RETURN_IF_ERROR(SealFrame(**msg.aead, seq, kFrameFinal, plaintext.subspan(regular * fs),
                                std::span<uint8_t>(out.data() + pos, out.size() - pos)));
  return out;
}

Status EngineImpl::OpenHeader(ByteView header_bytes, const EncryptionContext* expected, OpenedMessage& msg) {
  size_t body = 0;
  SES_ASSIGN_OR_RETURN(msg.header, DecodeHeader(header_bytes, body));
  const HeaderInfo& h = msg.header;
  SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(h.suite_id));
  const SuiteInfo& suite = pool->suite();
  if (h.tag.size() != suite.tag_len) return AuthenticationFailedError();
  msg.tag_len = suite.tag_len;

  std::vector<uint8_t> aad = EncodeContext(h.context);
  std::string cache_id = DecryptCacheId(h, aad);
  msg.key = cache_.GetForDecrypt(cache_id);
  bool fresh = false;
  if (!msg.key) {
    SES_ASSIGN_OR_RETURN(SecretBytes key, keys_->Recover(h, aad));
    msg.key = std::make_shared<const DataKey>(std::move(key), h.mode, h.keys);
    fresh = true;
  }
  MessageSecrets secrets;
  DeriveMessageSecrets(*msg.key, suite, h.message_id, secrets);
  // Key commitment first: a key that merely decrypts is not enough.
  if (CRYPTO_memcmp(secrets.commitment().data(), h.commitment.data(), kCommitmentSize) != 0) {
    return AuthenticationFailedError();
  }
  SES_ASSIGN_OR_RETURN(auto lease, pool->Acquire());
  msg.aead.emplace(std::move(lease));
  SES_RETURN_IF_ERROR((*msg.aead)->SetKey(secrets.key()));
  SES_RETURN_IF_ERROR(VerifyHeaderTag(**msg.aead, header_bytes.first(body), h.tag));
  // Only authenticated keys enter the cache.
  if (fresh) cache_.PutForDecrypt(cache_id, msg.key);
  if (expected != nullptr && *expected != h.context) {
    return InvalidArgumentError("encryption context does not match the one sealed in the message");
  }
  return OkStatus();
}

StatusOr<std::vector<uint8_t>> EngineImpl::Decrypt(std::span<const uint8_t> ct, const EncryptionContext& context) {
  SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(ct));
  if (ct.size() < header_size) return AuthenticationFailedError();
  OpenedMessage msg;
  SES_RETURN_IF_ERROR(OpenHeader(ct.first(header_size), &context, msg));

  std::vector<uint8_t> out(ct.size() - header_size);
  auto fail = [&out]() -> Status {
    OPENSSL_cleanse(out.data(), out.size());
    return AuthenticationFailedError();
  };
  size_t pos = header_size, written = 0;
  for (uint64_t seq = 1;; ++seq) {
    if (seq > kMaxFrames) return fail();
    FrameRef frame;
    if (ParseFrame(ct.subspan(pos), msg.header.frame_size, msg.tag_len, frame) != FrameParse::kFrame) return fail();
    if (!OpenFrame(**msg.aead, seq, frame, std::span<uint8_t>(out.data() + written, frame.sealed.size())).ok()) {
      return fail();
    }
    written += frame.length;
    pos += frame.consumed;
    if (frame.type == kFrameFinal) break;
  }
  if (pos != ct.size()) return fail();  // bytes after the final frame
  out.resize(written);
  return out;
}

StatusOr<std::unique_ptr<EncryptStream>> EngineImpl::NewEncryptStream(std::string_view keyring,
                                                                      const EncryptionContext& context, Sink sink) {
  return MakeEncryptStream(*this, keyring, context, std::move(sink));
}

StatusOr<std::unique_ptr<DecryptStream>> EngineImpl::NewDecryptStream(const EncryptionContext& context, Sink sink) {
  return MakeDecryptStream(*this, context, std::move(sink));
}

StatusOr<std::vector<uint8_t>> EngineImpl::ReEncryptHeader(std::span<const uint8_t> header_bytes,
                                                           std::string_view keyring) {
  SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(header_bytes));
  if (header_bytes.size() < header_size) return AuthenticationFailedError();
  OpenedMessage msg;
  SES_RETURN_IF_ERROR(OpenHeader(header_bytes.first(header_size), nullptr, msg));
  SES_ASSIGN_OR_RETURN(const KeyringConfig* target, keys_->FindKeyring(keyring));

  HeaderInfo h = msg.header;
  h.mode = target->mode;
  SES_ASSIGN_OR_RETURN(h.keys, keys_->Wrap(*target, msg.key->data_key, EncodeContext(h.context)));
  std::vector<uint8_t> out = EncodeHeaderBody(h, msg.tag_len);
  if (out.size() + msg.tag_len > kMaxHeaderSize) {
    return InvalidArgumentError("header would exceed " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  // Same data key and message id, so the same message key: only the tag over
  // the new header changes and the body stays valid as it is.
  const size_t body = out.size();
  out.resize(body + msg.tag_len);
  SES_RETURN_IF_ERROR(SealHeaderTag(**msg.aead, ByteView(out.data(), body),
                                    std::span<uint8_t>(out.data() + body, msg.tag_len)));
  return out;
}

StatusOr<std::string> EngineImpl::CreateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(key_uri));
  return p->provider->CreateKey(key_uri);
}

StatusOr<std::string> EngineImpl::RotateKey(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(key_uri));
  SES_ASSIGN_OR_RETURN(std::string version, p->provider->RotateKey(key_uri));
  cache_.ClearEncrypt();
  return version;
}

StatusOr<std::vector<std::string>> EngineImpl::ListVersions(std::string_view key_uri) {
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(key_uri));
  return p->provider->ListVersions(key_uri);
}

}  // namespace internal
}  // namespace ses
