#include "service/stream_reactors.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/alarm.h>

#include "server/status_map.h"
#include "service/request_util.h"

namespace ses::daemon {
namespace {

// What differs between the two directions.
struct EncryptTraits {
  using Request = v1::EncryptStreamRequest;
  using EngineStream = std::unique_ptr<ses::EncryptStream>;
  static constexpr std::string_view kMethod = "EncryptStream";
  static constexpr bool kSecretInput = true;    // plaintext in
  static constexpr bool kSecretOutput = false;  // ciphertext out
  static std::string_view Keyring(const Request& r) { return r.start().keyring(); }
  static StatusOr<EngineStream> Open(Engine& engine, const Request& r, Sink sink) {
    if (Status s = RequireKeyring(r.start().keyring()); !s.ok()) return s;
    auto context = ToContext(r.start().context());
    if (!context.ok()) return context.status();
    return engine.NewEncryptStream(r.start().keyring(), *context, std::move(sink));
  }
};

struct DecryptTraits {
  using Request = v1::DecryptStreamRequest;
  using EngineStream = std::unique_ptr<ses::DecryptStream>;
  static constexpr std::string_view kMethod = "DecryptStream";
  static constexpr bool kSecretInput = false;
  static constexpr bool kSecretOutput = true;  // plaintext out
  static std::string_view Keyring(const Request&) { return {}; }
  static StatusOr<EngineStream> Open(Engine& engine, const Request& r, Sink sink) {
    auto context = ToContext(r.start().context());
    if (!context.ok()) return context.status();
    return engine.NewDecryptStream(*context, std::move(sink));
  }
};

template <typename Traits>
class StreamReactor final : public grpc::ServerBidiReactor<typename Traits::Request, v1::StreamChunk> {
  using Request = typename Traits::Request;

 public:
  StreamReactor(grpc::CallbackServerContext* ctx, Engine& engine, const ServiceLimits& limits,
                CallObserver& observer, WorkerPool& workers)
      : ctx_(ctx), engine_(engine), limits_(limits), observer_(observer), workers_(workers), start_(Clock::now()) {
    observer_.OnCallStarted();
    ArmDefaultDeadline();
    this->StartRead(&request_);
  }

  // The engine work runs on the pool; only one read or write is ever in
  // flight, so the reactor's state is touched by one thread at a time.
  void OnReadDone(bool ok) override {
    if (!ok) return Post([this] { EndOfInput(); });
    Post([this] { ProcessRequest(); });
  }

  void ProcessRequest() {
    Status status = Consume();
    if (Traits::kSecretInput) Wipe(request_.data());
    request_.Clear();
    if (!status.ok()) return Fail(status);
    if (pending_.size() > sent_) return WriteNext();
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    if (Traits::kSecretOutput) Wipe(response_.data());
    if (!ok) return Fail(Status(StatusCode::kCancelled, "the client stopped reading"));
    if (pending_.size() > sent_) return WriteNext();
    ClearPending();
    if (finishing_) return Complete(final_status_);
    this->StartRead(&request_);
  }

  void OnDone() override {
    {
      std::lock_guard lock(watchdog_->mu);
      watchdog_->ctx = nullptr;  // a late alarm must not touch the finished call
    }
    alarm_.Cancel();
    ClearPending();
    CallRecord record;
    record.method = Traits::kMethod;
    record.keyring = keyring_;
    record.peer = peer_;
    record.status = &final_status_;
    record.bytes_in = bytes_in_;
    record.bytes_out = bytes_out_;
    record.duration = Clock::now() - start_;
    observer_.OnCall(record);
    delete this;
  }

 private:
  // A stream without a deadline from its client gets the server's default
  // one: otherwise a client that stops reading (or writing) would hold the
  // stream's buffers forever. gRPC enforces clients' own deadlines itself.
  void ArmDefaultDeadline() {
    if (limits_.default_deadline.count() <= 0 ||
        ctx_->raw_deadline().tv_sec != std::numeric_limits<int64_t>::max()) {
      return;
    }
    watchdog_->ctx = ctx_;
    alarm_.Set(std::chrono::system_clock::now() + limits_.default_deadline, [watchdog = watchdog_](bool fired) {
      std::lock_guard lock(watchdog->mu);
      if (fired && watchdog->ctx != nullptr) watchdog->ctx->TryCancel();
    });
  }

  void Post(std::function<void()> work) {
    if (!workers_.Post(std::move(work))) Fail(Overloaded());
  }

  Status Consume() {
    if (!stream_) {
      if (!request_.has_start()) {
        return Status(StatusCode::kInvalidArgument, "the first message of a stream must be `start`");
      }
      keyring_ = std::string(Traits::Keyring(request_));
      auto opened = Traits::Open(engine_, request_, [this](std::span<const uint8_t> out) {
        pending_.insert(pending_.end(), out.begin(), out.end());
        return Status();
      });
      if (!opened.ok()) return opened.status();
      stream_ = std::move(*opened);
      return Status();
    }
    if (request_.has_start()) return Status(StatusCode::kInvalidArgument, "`start` sent twice in one stream");
    if (request_.data().size() > limits_.max_message_bytes) {
      return Status(StatusCode::kResourceExhausted, "a stream message holds " +
                                                        std::to_string(request_.data().size()) +
                                                        " bytes; at most " +
                                                        std::to_string(limits_.max_message_bytes) +
                                                        " (server.max_message_bytes): send smaller pieces");
    }
    if (Status alive = CallAlive(*ctx_, start_, limits_.default_deadline); !alive.ok()) return alive;
    bytes_in_ += request_.data().size();
    return stream_->Write(AsBytes(request_.data()));
  }

  void EndOfInput() {
    // A client that went away is not a truncated message: say so, rather
    // than count an "authentication failed" it never caused.
    if (ctx_->IsCancelled()) return Fail(Status(StatusCode::kCancelled, "the client cancelled the stream"));
    if (!stream_) {
      return Fail(Status(StatusCode::kInvalidArgument, "the stream ended before its `start` message"));
    }
    Status status = stream_->Finish();
    if (!status.ok()) return Fail(status);
    finishing_ = true;
    final_status_ = Status();
    if (pending_.size() > sent_) return WriteNext();
    Complete(final_status_);
  }

  void WriteNext() {
    const size_t n = std::min(kStreamChunkBytes, pending_.size() - sent_);
    response_.set_data(reinterpret_cast<const char*>(pending_.data() + sent_), n);
    sent_ += n;
    bytes_out_ += n;
    this->StartWrite(&response_);
  }

  void ClearPending() {
    if (Traits::kSecretOutput) internal::Cleanse(pending_.data(), pending_.size());
    pending_.clear();
    sent_ = 0;
  }

  void Fail(const Status& status) {
    ClearPending();
    Complete(status);
  }

  void Complete(const Status& status) {
    final_status_ = status;
    peer_ = ctx_->peer();
    this->Finish(ToGrpc(status));
  }

  grpc::CallbackServerContext* ctx_;
  Engine& engine_;
  const ServiceLimits limits_;
  CallObserver& observer_;
  WorkerPool& workers_;
  Clock::time_point start_;
  std::string keyring_;
  std::string peer_;
  Request request_;
  v1::StreamChunk response_;
  typename Traits::EngineStream stream_;
  // Output not yet written (sent_ bytes of it are out). Zeroising: it holds
  // plaintext in decrypt streams, and growth must not leave copies behind.
  std::vector<uint8_t, internal::ZeroisingAllocator<uint8_t>> pending_;
  size_t sent_ = 0;
  bool finishing_ = false;
  Status final_status_;
  size_t bytes_in_ = 0;
  size_t bytes_out_ = 0;
  struct Watchdog {
    std::mutex mu;
    grpc::CallbackServerContext* ctx = nullptr;  // null once the call is done
  };
  std::shared_ptr<Watchdog> watchdog_ = std::make_shared<Watchdog>();
  grpc::Alarm alarm_;
};

}  // namespace

grpc::ServerBidiReactor<v1::EncryptStreamRequest, v1::StreamChunk>* NewEncryptStreamReactor(
    grpc::CallbackServerContext* ctx, Engine& engine, const ServiceLimits& limits, CallObserver& observer,
    WorkerPool& workers) {
  return new StreamReactor<EncryptTraits>(ctx, engine, limits, observer, workers);
}

grpc::ServerBidiReactor<v1::DecryptStreamRequest, v1::StreamChunk>* NewDecryptStreamReactor(
    grpc::CallbackServerContext* ctx, Engine& engine, const ServiceLimits& limits, CallObserver& observer,
    WorkerPool& workers) {
  return new StreamReactor<DecryptTraits>(ctx, engine, limits, observer, workers);
}

}  // namespace ses::daemon
