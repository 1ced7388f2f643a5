// Client::EncryptStream and DecryptStream over the sync bidi API.
//
// Input and output are not one-to-one (the server answers per frame, not per
// request), so strictly alternating Write and Read could deadlock. Instead a
// helper thread writes while the calling thread reads: gRPC allows one reader
// and one writer at a time on a stream. Each Write blocks until gRPC has taken
// the message under flow control, so at most one chunk is in flight from
// here and memory stays bounded.
//
// A stream has no deadline (it lasts as long as its data), so a server that
// stalls would hang it forever. gRPC's sync API cannot extend a deadline, so
// a watchdog thread cancels the call once it has been idle for
// ClientOptions::stream_idle_timeout.
#include <openssl/crypto.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client_impl.h"
#include "ses/client/channel.h"

namespace ses::client {
namespace {

using Clock = std::chrono::steady_clock;

// Cancels the call when no response has been read and no write has completed
// for `limit`. Time while the caller's source or sink runs does not count: a
// slow producer or consumer on this side is not a silent server.
//
// Thread safety: all methods may be called from the reader and writer
// threads at once.
class IdleWatchdog {
 public:
  IdleWatchdog(grpc::ClientContext& cc, std::chrono::milliseconds limit)
      : cc_(cc), limit_(limit), last_(Clock::now()), thread_([this] { Run(); }) {}
  ~IdleWatchdog() { Stop(); }
  IdleWatchdog(const IdleWatchdog&) = delete;
  IdleWatchdog& operator=(const IdleWatchdog&) = delete;

  void Progress() {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = Clock::now();
  }

  // Marks a call of the caller's source or sink for its scope.
  class LocalWork {
   public:
    explicit LocalWork(IdleWatchdog& w) : w_(w) {
      std::lock_guard<std::mutex> lock(w_.mu_);
      ++w_.local_;
    }
    ~LocalWork() {
      std::lock_guard<std::mutex> lock(w_.mu_);
      --w_.local_;
      w_.last_ = Clock::now();
    }
    LocalWork(const LocalWork&) = delete;
    LocalWork& operator=(const LocalWork&) = delete;

   private:
    IdleWatchdog& w_;
  };

  // Whether the watchdog cancelled the call.
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      const auto now = Clock::now();
      if (local_ > 0) last_ = now;
      if (now - last_ >= limit_) {
        fired_ = true;
        cc_.TryCancel();  // safe from any thread, even before the call starts
        return;
      }
      cv_.wait_until(lock, last_ + limit_);
    }
  }

  grpc::ClientContext& cc_;
  const std::chrono::milliseconds limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  Clock::time_point last_;  // last progress, or end of the last local call
  int local_ = 0;           // source or sink calls running
  bool stop_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

std::string Duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

// Wipes a message's data field over the whole chunk size, so whatever the
// source wrote there, at any length, is gone.
void WipeChunk(std::string* data) {
  data->resize(kStreamChunkSize);
  OPENSSL_cleanse(data->data(), data->size());
  data->clear();
}

// `open` starts the call on `cc` and returns its stream; it runs under the
// watchdog, since starting blocks until the call's headers are sent.
template <typename Request, typename Open>
Status RunStream(const ClientOptions& options, grpc::ClientContext& cc, Open&& open, const Request& start,
                 const ByteSource& source, const ByteSink& sink) {
  IdleWatchdog watchdog(cc, options.stream_idle_timeout);
  auto rw = open();
  watchdog.Progress();

  Status source_error;
  std::thread writer([&] {
    if (!rw->Write(start)) return;  // the call already ended; Finish says why
    watchdog.Progress();
    Request req;
    std::string* data = req.mutable_data();
    struct Wipe {
      std::string* data;
      ~Wipe() { WipeChunk(data); }
    } wipe{data};
    for (;;) {
      data->resize(kStreamChunkSize);
      StatusOr<size_t> n = [&] {
        IdleWatchdog::LocalWork local(watchdog);
        return source(std::span<uint8_t>(reinterpret_cast<uint8_t*>(data->data()), data->size()));
      }();
      if (!n.ok()) {
        source_error = n.status();
        cc.TryCancel();
        return;
      }
      if (*n == 0) break;
      if (*n > kStreamChunkSize) {
        source_error = InternalError("stream source returned more bytes than asked for");
        cc.TryCancel();
        return;
      }
      data->resize(*n);
      if (!rw->Write(req)) return;
      watchdog.Progress();
    }
    if (rw->WritesDone()) watchdog.Progress();
  });

  Status sink_error;
  v1::StreamChunk chunk;
  while (rw->Read(&chunk)) {
    watchdog.Progress();
    if (sink_error.ok()) {
      IdleWatchdog::LocalWork local(watchdog);
      sink_error = sink(internal::AsBytes(chunk.data()));
      if (!sink_error.ok()) cc.TryCancel();
    }  // else draining after cancel
    internal::Wipe(chunk.mutable_data());
  }
  writer.join();
  grpc::Status status = rw->Finish();
  watchdog.Stop();
  // The local cause explains a cancel better than CANCELLED does.
  if (!source_error.ok()) return source_error;
  if (!sink_error.ok()) return sink_error;
  if (!status.ok() && watchdog.fired()) {
    return Status(StatusCode::kDeadlineExceeded,
                  "sesd at " + options.server + " sent nothing for " + Duration(options.stream_idle_timeout));
  }
  return FromGrpcStatus(status, options.server);
}

}  // namespace

Status Client::EncryptStream(std::string_view keyring, const EncryptionContext& context, const ByteSource& source,
                             const ByteSink& sink) {
  grpc::ClientContext cc;
  v1::EncryptStreamRequest start;
  start.mutable_start()->set_keyring(std::string(keyring));
  internal::SetContext(start.mutable_start()->mutable_context(), context);
  return RunStream(
      impl_->options, cc, [&] { return impl_->crypto->EncryptStream(&cc); }, start, source, sink);
}

Status Client::DecryptStream(const EncryptionContext& context, const ByteSource& source, const ByteSink& sink) {
  grpc::ClientContext cc;
  v1::DecryptStreamRequest start;
  internal::SetContext(start.mutable_start()->mutable_context(), context);
  return RunStream(
      impl_->options, cc, [&] { return impl_->crypto->DecryptStream(&cc); }, start, source, sink);
}

}  // namespace ses::client
