#include <cstring>

#include <openssl/crypto.h>

#include "engine/engine_impl.h"
#include "engine/thread_slots.h"
#include "envelope/format.h"
#include "util/random.h"

namespace ses {

namespace {

struct SuiteName_ {
  uint16_t id;
  std::string_view name;
  uint32_t key_len;
  uint32_t tag_len;
};
constexpr SuiteName_ kSuiteNames[] = {
    {kSuiteAes256Gcm, "aes-256-gcm", 32, 16},
    {kSuiteChaCha20Poly1305, "chacha20-poly1305", 32, 16},
    {kSuiteAesGcmChaChaCascade, "aes-256-gcm+chacha20-poly1305", 64, 32},
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
    // The format fixes each suite's key and tag length (docs/format.md §6):
    // a plugin that claims an id with other lengths (a short tag) is refused.
    if (SuiteName(suite.id) == "unknown") continue;  // not a format suite: never used
    SES_RETURN_IF_ERROR(internal::CheckSuiteLengths(suite));
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
  return internal::DecodeHeader(header.first(size));
}

StatusOr<std::vector<uint8_t>> Engine::ReEncrypt(std::span<const uint8_t> ciphertext, std::string_view keyring) {
  SES_ASSIGN_OR_RETURN(size_t size, HeaderSize(ciphertext));
  if (ciphertext.size() < size) return AuthenticationFailedError();
  SES_ASSIGN_OR_RETURN(auto out, ReEncryptHeader(ciphertext.first(size), keyring));
  out.insert(out.end(), ciphertext.begin() + static_cast<ptrdiff_t>(size), ciphertext.end());
  return out;
}

namespace internal {

Status CheckSuiteLengths(const SuiteInfo& suite) {
  for (const auto& known : kSuiteNames) {
    if (known.id != suite.id) continue;
    if (suite.key_len != known.key_len || suite.tag_len != known.tag_len) {
      return InvalidArgumentError("cipher plugin declares suite " + std::string(known.name) + " with key length " +
                                  std::to_string(suite.key_len) + " and tag length " + std::to_string(suite.tag_len) +
                                  "; the format requires " + std::to_string(known.key_len) + " and " +
                                  std::to_string(known.tag_len));
    }
  }
  return OkStatus();
}

Status MissingSuiteError(uint16_t suite_id) {
  if (SuiteName(suite_id) == "unknown") return AuthenticationFailedError();
  return FailedPreconditionError("suite " + std::string(SuiteName(suite_id)) +
                                 " is not provided by the loaded cipher plugin");
}

namespace {

std::atomic<uint64_t> next_engine_id{1};

// Header bytes with the message id left out: the same for every message
// under one data key, so it identifies the key's cache entry.
std::string HeaderIdentity(ByteView header) {
  std::string id(AsChars(header.first(kMessageIdOffset)));
  id.append(AsChars(header.subspan(kMessageIdOffset + kMessageIdSize)));
  return id;
}

}  // namespace

EngineImpl::EngineImpl(std::unique_ptr<KeyManager> keys, std::map<uint16_t, std::unique_ptr<AeadPool>> pools,
                       CacheLimits limits)
    : id_(next_engine_id.fetch_add(1, std::memory_order_relaxed)),
      keys_(std::move(keys)),
      pools_(std::move(pools)),
      cache_(limits) {}

StatusOr<AeadPool*> EngineImpl::Pool(uint16_t suite_id) {
  auto it = pools_.find(suite_id);
  if (it != pools_.end()) return it->second.get();
  return MissingSuiteError(suite_id);
}

CacheStats EngineImpl::cache_stats() const {
  // The calling thread's batched hits count now; other threads' follow.
  ThreadSlots& slots = Slots();
  auto& cache = const_cast<DataKeyCache&>(cache_);
  if (slots.encrypt.engine == id_) cache.AddHits(std::exchange(slots.encrypt.pending_hits, 0));
  if (slots.decrypt.engine == id_) cache.AddHits(std::exchange(slots.decrypt.pending_hits, 0));
  return cache_.stats();
}

StatusOr<std::shared_ptr<DataKey>> EngineImpl::NewEncryptKey(const KeyringConfig& keyring,
                                                              const EncryptionContext& context) {
  SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(keyring.suite_id));
  SES_ASSIGN_OR_RETURN(KeyManager::NewKey made, keys_->NewDataKey(keyring, EncodeContext(context)));
  auto key = std::make_shared<DataKey>(std::move(made.key), keyring.mode, std::move(made.wrapped), pool->suite());
  HeaderInfo& h = key->info;
  h.suite_id = keyring.suite_id;
  h.mode = keyring.mode;
  h.frame_size = keyring.frame_size;
  h.context = context;
  h.keys = key->wrapped();
  h.commitment = key->commitment();
  key->header = EncodeHeaderBody(h);
  const size_t body = key->header.size();
  if (body + kHeaderTagSize > kMaxHeaderSize) {
    return InvalidArgumentError("header would exceed " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  key->header.resize(body + kHeaderTagSize);
  ComputeHeaderTag(key->header_mac(), ByteView(key->header.data(), body),
                   std::span<uint8_t, kHeaderTagSize>(key->header.data() + body, kHeaderTagSize));
  h.tag.assign(key->header.begin() + static_cast<ptrdiff_t>(body), key->header.end());
  h.header_size = key->header.size();
  return key;
}

StatusOr<std::shared_ptr<const DataKey>> EngineImpl::EncryptKey(std::string_view keyring,
                                                                const EncryptionContext& context, uint64_t bytes) {
  EncryptSlot& slot = Slots().encrypt;
  if (cache_.enabled() && slot.engine == id_ && slot.epoch == cache_.encrypt_epoch() && slot.key &&
      slot.keyring == keyring && slot.context == context &&
      cache_.Usable(*slot.key, slot.pending_messages + 1, slot.pending_bytes + bytes)) {
    ++slot.pending_messages;
    slot.pending_bytes += bytes;
    // Bytes are charged before they can add up to a sizeable share of the
    // limit, so other threads see them in time.
    if (slot.pending_messages >= kChargeBatch || slot.pending_bytes >= cache_.limits().max_bytes / kChargeBatch) {
      slot.Flush();
    }
    if (++slot.pending_hits >= kChargeBatch) cache_.AddHits(std::exchange(slot.pending_hits, 0));
    return slot.key;
  }
  // Charge what this thread used before the cache judges the key's limits.
  slot.Flush();

  SES_ASSIGN_OR_RETURN(const KeyringConfig* kr, keys_->FindKeyring(keyring));
  SES_RETURN_IF_ERROR(ValidateContext(context));
  if (!cache_.enabled()) {
    SES_ASSIGN_OR_RETURN(auto fresh, NewEncryptKey(*kr, context));
    return std::shared_ptr<const DataKey>(std::move(fresh));
  }
  std::string id = kr->name;
  id.push_back('\0');
  id.append(AsChars(EncodeContext(context)));
  const uint64_t epoch = cache_.encrypt_epoch();
  std::shared_ptr<const DataKey> key = cache_.GetForEncrypt(id, bytes);
  if (!key) {
    SES_ASSIGN_OR_RETURN(auto fresh, NewEncryptKey(*kr, context));
    fresh->messages = 1;
    fresh->bytes = bytes;
    key = fresh;
    cache_.PutForEncrypt(id, key, epoch);
  }
  if (slot.engine == id_) cache_.AddHits(slot.pending_hits);
  slot.engine = id_;
  slot.epoch = epoch;
  slot.keyring = kr->name;
  slot.context = context;
  slot.key = key;
  slot.pending_hits = 0;
  return key;
}

Status EngineImpl::BeginMessage(std::string_view keyring, const EncryptionContext& context, uint64_t bytes,
                                SealingMessage& msg) {
  SES_ASSIGN_OR_RETURN(msg.key, EncryptKey(keyring, context, bytes));
  const DataKey& key = *msg.key;
  msg.frame_size = key.info.frame_size;
  msg.tag_len = key.suite().tag_len;
  SES_RETURN_IF_ERROR(RandomBytesBatched(msg.message_id.data(), kMessageIdSize));
  SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(key.suite().id));
  SES_ASSIGN_OR_RETURN(auto lease, pool->Acquire());
  msg.aead.emplace(std::move(lease));
  return KeyMessage(key, msg.message_id, **msg.aead);
}

void EngineImpl::WriteHeader(const SealingMessage& msg, uint8_t* out) {
  internal::WriteHeader(*msg.key, msg.message_id, out);
}

Status EngineImpl::EncryptTo(std::string_view keyring, const EncryptionContext& context,
                             std::span<const uint8_t> plaintext, std::vector<uint8_t>& out) {
  SealingMessage msg;
  Status s = BeginMessage(keyring, context, plaintext.size(), msg);
  if (s.ok()) s = SealMessage(*msg.key, msg.message_id, **msg.aead, plaintext, out);
  if (!s.ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
  }
  return s;
}

StatusOr<std::vector<uint8_t>> EngineImpl::Encrypt(std::string_view keyring, const EncryptionContext& context,
                                                   std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out;
  SES_RETURN_IF_ERROR(EncryptTo(keyring, context, plaintext, out));
  return out;
}

StatusOr<std::shared_ptr<const DataKey>> EngineImpl::DecryptKey(ByteView header) {
  DecryptSlot& slot = Slots().decrypt;
  if (cache_.enabled() && slot.engine == id_ && slot.key && SameHeaderIdentity(slot.key->header, header) &&
      cache_.Usable(*slot.key, 0, 0)) {
    if (++slot.pending_hits >= kChargeBatch) cache_.AddHits(std::exchange(slot.pending_hits, 0));
    return slot.key;
  }

  // A cache hit is a header byte-identical (but for the id) to one already
  // authenticated, so only a miss needs decoding. Too short to hold an id:
  // the decoder refuses it below.
  const bool has_id = header.size() >= kMessageIdOffset + kMessageIdSize;
  std::string id = has_id ? HeaderIdentity(header) : std::string();
  std::shared_ptr<const DataKey> key = has_id ? cache_.GetForDecrypt(id) : nullptr;
  if (!key) {
    SES_ASSIGN_OR_RETURN(HeaderInfo h, DecodeHeader(header));
    SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(h.suite_id));
    SES_ASSIGN_OR_RETURN(SecretBytes dk, keys_->Recover(h, EncodeContext(h.context)));
    auto fresh = std::make_shared<DataKey>(std::move(dk), h.mode, h.keys, pool->suite());
    // Only authenticated keys are kept, with the id-free header they vouch for.
    SES_RETURN_IF_ERROR(AdoptHeader(*fresh, std::move(h), header));
    key = fresh;
    cache_.PutForDecrypt(id, key);
  }
  if (cache_.enabled()) {
    if (slot.engine == id_) cache_.AddHits(slot.pending_hits);
    slot.engine = id_;
    slot.key = key;
    slot.pending_hits = 0;
  }
  return key;
}

StatusOr<std::shared_ptr<const DataKey>> EngineImpl::HeaderKey(ByteView header, const EncryptionContext* expected) {
  SES_ASSIGN_OR_RETURN(auto key, DecryptKey(header));
  if (expected != nullptr && *expected != key->info.context) {
    return InvalidArgumentError("encryption context does not match the one sealed in the message");
  }
  return key;
}

Status EngineImpl::OpenHeader(ByteView header, const EncryptionContext* expected, OpenedMessage& msg) {
  SES_ASSIGN_OR_RETURN(msg.key, HeaderKey(header, expected));
  const DataKey& key = *msg.key;
  msg.frame_size = key.info.frame_size;
  msg.tag_len = key.suite().tag_len;
  SES_ASSIGN_OR_RETURN(AeadPool * pool, Pool(key.suite().id));
  SES_ASSIGN_OR_RETURN(auto lease, pool->Acquire());
  msg.aead.emplace(std::move(lease));
  return KeyMessage(key, header.subspan(kMessageIdOffset, kMessageIdSize), **msg.aead);
}

Status EngineImpl::DecryptTo(std::span<const uint8_t> ct, const EncryptionContext& context,
                             std::vector<uint8_t>& out) {
  Status s = [&]() -> Status {
    SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(ct));
    if (ct.size() < header_size) return AuthenticationFailedError();
    OpenedMessage msg;
    SES_RETURN_IF_ERROR(OpenHeader(ct.first(header_size), &context, msg));
    return OpenMessageBody(ct, header_size, msg.frame_size, msg.tag_len, **msg.aead, out);
  }();
  if (!s.ok()) {
    OPENSSL_cleanse(out.data(), out.size());
    out.clear();
  }
  return s;
}

StatusOr<std::vector<uint8_t>> EngineImpl::Decrypt(std::span<const uint8_t> ct, const EncryptionContext& context) {
  std::vector<uint8_t> out;
  SES_RETURN_IF_ERROR(DecryptTo(ct, context, out));
  return out;
}

StatusOr<std::unique_ptr<EncryptStream>> EngineImpl::NewEncryptStream(std::string_view keyring,
                                                                      const EncryptionContext& context, Sink sink) {
  return MakeEncryptStream(*this, keyring, context, std::move(sink));
}

StatusOr<std::unique_ptr<DecryptStream>> EngineImpl::NewDecryptStream(const EncryptionContext& context, Sink sink) {
  return MakeDecryptStream(*this, context, std::move(sink));
}

StatusOr<DataKeyGrant> EngineImpl::GenerateDataKey(std::string_view keyring, const EncryptionContext& context) {
  SES_ASSIGN_OR_RETURN(const KeyringConfig* kr, keys_->FindKeyring(keyring));
  SES_RETURN_IF_ERROR(ValidateContext(context));
  // Straight from the keyring, past the cache: a key that leaves the engine
  // must never seal the engine's own messages.
  SES_ASSIGN_OR_RETURN(std::shared_ptr<DataKey> key, NewEncryptKey(*kr, context));
  return DataKeyGrant{key->data_key().Clone(), std::move(key->header)};
}

StatusOr<SecretBytes> EngineImpl::DecryptDataKey(std::span<const uint8_t> encrypted_key,
                                                 const EncryptionContext& context) {
  SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(encrypted_key));
  if (encrypted_key.size() < header_size) return AuthenticationFailedError();
  SES_ASSIGN_OR_RETURN(auto key, HeaderKey(encrypted_key.first(header_size), &context));
  return key->data_key().Clone();
}

StatusOr<std::vector<uint8_t>> EngineImpl::ReEncryptHeader(std::span<const uint8_t> header_bytes,
                                                           std::string_view keyring) {
  SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(header_bytes));
  if (header_bytes.size() < header_size) return AuthenticationFailedError();
  ByteView header = header_bytes.first(header_size);
  SES_ASSIGN_OR_RETURN(auto key, DecryptKey(header));
  SES_ASSIGN_OR_RETURN(const KeyringConfig* target, keys_->FindKeyring(keyring));

  // Same data key and message id, so the same message key: the body stays
  // valid as it is, and only the wrapped keys and the tag change.
  HeaderInfo h = key->info;
  std::memcpy(h.message_id.data(), header.data() + kMessageIdOffset, kMessageIdSize);
  h.mode = target->mode;
  SES_ASSIGN_OR_RETURN(h.keys, keys_->Wrap(*target, key->data_key(), EncodeContext(h.context)));
  std::vector<uint8_t> out = EncodeHeaderBody(h);
  const size_t body = out.size();
  if (body + kHeaderTagSize > kMaxHeaderSize) {
    return InvalidArgumentError("header would exceed " + std::to_string(kMaxHeaderSize) + " bytes");
  }
  out.resize(body + kHeaderTagSize);
  ComputeHeaderTag(key->header_mac(), ByteView(out.data(), body),
                   std::span<uint8_t, kHeaderTagSize>(out.data() + body, kHeaderTagSize));
  return out;
}

StatusOr<std::string> EngineImpl::CreateKey(std::string_view key_uri) {
  const std::string uri = keys_->Resolve(key_uri);
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(uri));
  return p->provider->CreateKey(uri);
}

StatusOr<std::string> EngineImpl::RotateKey(std::string_view key_uri) {
  const std::string uri = keys_->Resolve(key_uri);
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(uri));
  SES_ASSIGN_OR_RETURN(std::string version, p->provider->RotateKey(uri));
  cache_.ClearEncrypt();
  return version;
}

StatusOr<std::vector<std::string>> EngineImpl::ListVersions(std::string_view key_uri) {
  const std::string uri = keys_->Resolve(key_uri);
  SES_ASSIGN_OR_RETURN(const NamedKeyProvider* p, keys_->ProviderFor(uri));
  return p->provider->ListVersions(uri);
}

}  // namespace internal
}  // namespace ses
