// Streaming encrypt and decrypt: memory is bounded by one frame whatever the
// message size.
#include <cstring>

#include <openssl/crypto.h>

#include "engine/engine_impl.h"

namespace ses::internal {
namespace {

class EncryptStreamImpl final : public EncryptStream {
 public:
  EncryptStreamImpl(SealingMessage msg, Sink sink)
      : msg_(std::move(msg)),
        sink_(std::move(sink)),
        frame_size_(msg_.frame_size),
        plain_(frame_size_),
        sealed_(SealedFrameSize(kFrameFinal, frame_size_, msg_.tag_len)) {}
  ~EncryptStreamImpl() override { OPENSSL_cleanse(plain_.data(), plain_.size()); }

  Status Write(std::span<const uint8_t> data) override {
    if (!status_.ok()) return status_;
    if (finished_) return status_ = FailedPreconditionError("write after finish");
    while (!data.empty()) {
      // A full buffer becomes a regular frame only once more data arrives:
      // until then it may still be the final frame.
      if (filled_ == frame_size_) {
        SES_RETURN_IF_ERROR(status_ = Emit(kFrameRegular));
      }
      size_t n = std::min(frame_size_ - filled_, data.size());
      std::memcpy(plain_.data() + filled_, data.data(), n);
      filled_ += n;
      data = data.subspan(n);
    }
    return OkStatus();
  }

  Status Finish() override {
    if (!status_.ok()) return status_;
    if (finished_) return status_ = FailedPreconditionError("finish called twice");
    finished_ = true;
    return status_ = Emit(kFrameFinal);
  }

 private:
  Status Emit(uint8_t type) {
    if (seq_ > kMaxFrames) return InvalidArgumentError("message has too many frames for its frame size");
    size_t n = SealedFrameSize(type, filled_, msg_.tag_len);
    SES_RETURN_IF_ERROR(SealFrame(**msg_.aead, seq_, type, ByteView(plain_.data(), filled_),
                                  std::span<uint8_t>(sealed_.data(), n)));
    msg_.key->bytes.fetch_add(filled_, std::memory_order_relaxed);
    ++seq_;
    filled_ = 0;
    return sink_(ByteView(sealed_.data(), n));
  }

  SealingMessage msg_;
  Sink sink_;
  size_t frame_size_;
  std::vector<uint8_t> plain_;
  std::vector<uint8_t> sealed_;
  size_t filled_ = 0;
  uint64_t seq_ = 1;
  bool finished_ = false;
  Status status_;
};

class DecryptStreamImpl final : public DecryptStream {
 public:
  DecryptStreamImpl(EngineImpl& engine, const EncryptionContext& context, Sink sink)
      : engine_(engine), context_(context), sink_(std::move(sink)) {}
  ~DecryptStreamImpl() override { OPENSSL_cleanse(plain_.data(), plain_.size()); }

  Status Write(std::span<const uint8_t> data) override {
    if (!status_.ok()) return status_;
    if (done_ && !data.empty()) return status_ = AuthenticationFailedError();  // bytes after the final frame
    pending_.insert(pending_.end(), data.begin(), data.end());
    status_ = Process();
    if (!status_.ok()) OPENSSL_cleanse(plain_.data(), plain_.size());
    return status_;
  }

  Status Finish() override {
    if (!status_.ok()) return status_;
    if (!done_ || consumed_ != pending_.size()) return status_ = AuthenticationFailedError();  // truncated
    return OkStatus();
  }

  const HeaderInfo* header() const override { return msg_ ? &header_ : nullptr; }

 private:
  Status Process() {
    if (!msg_) {
      if (pending_.size() < kPrefixSize) return OkStatus();
      SES_ASSIGN_OR_RETURN(size_t header_size, DecodeHeaderSize(pending_));
      if (pending_.size() < header_size) return OkStatus();
      OpenedMessage msg;
      SES_RETURN_IF_ERROR(engine_.OpenHeader(ByteView(pending_.data(), header_size), &context_, msg));
      msg_.emplace(std::move(msg));
      // The key's header is shared by every message under it; this
      // message's own id goes into the copy the caller sees.
      header_ = msg_->key->info;
      std::memcpy(header_.message_id.data(), pending_.data() + kMessageIdOffset, kMessageIdSize);
      plain_.resize(size_t{msg_->frame_size} + msg_->tag_len);
      consumed_ = header_size;
    }
    while (!done_) {
      if (seq_ > kMaxFrames) return AuthenticationFailedError();
      FrameRef frame;
      FrameParse r = ParseFrame(ByteView(pending_).subspan(consumed_), msg_->frame_size, msg_->tag_len, frame);
      if (r == FrameParse::kInvalid) return AuthenticationFailedError();
      if (r == FrameParse::kNeedMore) break;
      SES_RETURN_IF_ERROR(OpenFrame(**msg_->aead, seq_, frame, std::span<uint8_t>(plain_.data(), frame.sealed.size())));
      ++seq_;
      consumed_ += frame.consumed;
      done_ = frame.type == kFrameFinal;
      SES_RETURN_IF_ERROR(sink_(ByteView(plain_.data(), frame.length)));
    }
    if (done_ && consumed_ != pending_.size()) return AuthenticationFailedError();
    // Drop what was consumed so the buffer stays within about one frame.
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(consumed_));
    consumed_ = 0;
    return OkStatus();
  }

  EngineImpl& engine_;
  EncryptionContext context_;
  Sink sink_;
  std::optional<OpenedMessage> msg_;
  HeaderInfo header_;
  std::vector<uint8_t> pending_;
  size_t consumed_ = 0;
  std::vector<uint8_t> plain_;
  uint64_t seq_ = 1;
  bool done_ = false;
  Status status_;
};

}  // namespace

StatusOr<std::unique_ptr<EncryptStream>> MakeEncryptStream(EngineImpl& engine, std::string_view keyring,
                                                           const EncryptionContext& context, Sink sink) {
  SealingMessage msg;
  SES_RETURN_IF_ERROR(engine.BeginMessage(keyring, context, 0, msg));
  std::vector<uint8_t> header(msg.key->header.size());
  EngineImpl::WriteHeader(msg, header.data());
  SES_RETURN_IF_ERROR(sink(header));
  return std::unique_ptr<EncryptStream>(std::make_unique<EncryptStreamImpl>(std::move(msg), std::move(sink)));
}

StatusOr<std::unique_ptr<DecryptStream>> MakeDecryptStream(EngineImpl& engine, const EncryptionContext& context,
                                                           Sink sink) {
  return std::unique_ptr<DecryptStream>(std::make_unique<DecryptStreamImpl>(engine, context, std::move(sink)));
}

}  // namespace ses::internal
