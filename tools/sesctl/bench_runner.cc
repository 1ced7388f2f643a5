#include "bench_runner.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <grpcpp/client_context.h>

#include "ses/client/channel.h"
#include "ses/v1/crypto.grpc.pb.h"

namespace ses::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kLateAfter = std::chrono::milliseconds(1);

// What one call came to.
struct Outcome {
  grpc::Status status;        // the call as a whole
  std::string bad_reply;      // set if an OK reply did not match the request
  uint64_t messages_ok = 0;
  uint64_t bytes_ok = 0;
  std::vector<std::pair<int, std::string>> item_errors;  // batch items
  bool ok() const { return status.ok() && bad_reply.empty(); }
};

// Counters shared by every completing call.
class Tally {
 public:
  explicit Tally(BenchReport& report) : report_(report) {}

  void Add(const Outcome& o, Clock::duration latency, bool late) {
    report_.latency.Record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
    if (late) late_.fetch_add(1, std::memory_order_relaxed);
    if (!o.status.ok()) {
      Error(StatusCodeName(static_cast<StatusCode>(o.status.error_code())), o.status.error_message());
      failed_.fetch_add(1, std::memory_order_relaxed);
    } else if (!o.bad_reply.empty()) {
      Error("BAD_REPLY", o.bad_reply);
      failed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      ok_.fetch_add(1, std::memory_order_relaxed);
      messages_.fetch_add(o.messages_ok, std::memory_order_relaxed);
      bytes_.fetch_add(o.bytes_ok, std::memory_order_relaxed);
      for (const auto& [code, message] : o.item_errors) {
        items_failed_.fetch_add(1, std::memory_order_relaxed);
        Error(StatusCodeName(static_cast<StatusCode>(code)), message);
      }
    }
    done_.fetch_add(1, std::memory_order_release);
  }

  void Unsent() { unsent_.fetch_add(1, std::memory_order_relaxed); }

  BenchProgress Progress(Clock::time_point start) const {
    return {std::chrono::duration<double>(Clock::now() - start).count(), done_.load(std::memory_order_acquire),
            failed_.load(std::memory_order_relaxed)};
  }

  void Fill() {
    report_.calls_ok = ok_.load();
    report_.calls_failed = failed_.load();
    report_.messages_ok = messages_.load();
    report_.bytes_ok = bytes_.load();
    report_.items_failed = items_failed_.load();
    report_.calls_late = late_.load();
    report_.calls_unsent = unsent_.load();
  }

 private:
  void Error(std::string_view code, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    BenchErrors& e = report_.errors[std::string(code)];
    if (e.count++ == 0) e.first_message = message;
  }

  BenchReport& report_;
  std::atomic<uint64_t> ok_{0}, failed_{0}, messages_{0}, bytes_{0}, items_failed_{0}, late_{0}, unsent_{0}, done_{0};
  std::mutex mu_;  // errors map
};

// Makes calls of one kind on one channel, blocking or with a callback.
class Caller {
 public:
  virtual ~Caller() = default;
  virtual void Start(std::function<void(const Outcome&)> done) = 0;
  virtual Outcome Call() = 0;
};

template <typename Req, typename Resp>
class TypedCaller final : public Caller {
 public:
  using Async = std::function<void(grpc::ClientContext*, const Req*, Resp*, std::function<void(grpc::Status)>)>;
  using Sync = std::function<grpc::Status(grpc::ClientContext*, const Req&, Resp*)>;
  using Check = std::function<void(const Resp&, Outcome&)>;

  TypedCaller(std::shared_ptr<const Req> request, Async async, Sync sync, Check check,
              std::chrono::milliseconds timeout)
      : request_(std::move(request)),
        async_(std::move(async)),
        sync_(std::move(sync)),
        check_(std::move(check)),
        timeout_(timeout) {}

  void Start(std::function<void(const Outcome&)> done) override {
    struct Pending {
      grpc::ClientContext cc;
      Resp resp;
      std::function<void(const Outcome&)> done;
    };
    auto* p = new Pending;
    p->done = std::move(done);
    p->cc.set_deadline(std::chrono::system_clock::now() + timeout_);
    async_(&p->cc, request_.get(), &p->resp, [this, p](grpc::Status s) {
      Outcome o = Finish(std::move(s), p->resp);
      auto finished = std::move(p->done);
      delete p;
      finished(o);
    });
  }

  Outcome Call() override {
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + timeout_);
    Resp resp;
    grpc::Status s = sync_(&cc, *request_, &resp);
    return Finish(std::move(s), resp);
  }

 private:
  Outcome Finish(grpc::Status s, const Resp& resp) {
    Outcome o;
    o.status = std::move(s);
    if (o.status.ok()) check_(resp, o);
    return o;
  }

  std::shared_ptr<const Req> request_;
  Async async_;
  Sync sync_;
  Check check_;
  std::chrono::milliseconds timeout_;
};

std::string RandomPayload(size_t n) {
  std::mt19937_64 rng(0x5e5);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void SetContext(google::protobuf::Map<std::string, std::string>* out, const EncryptionContext& context) {
  for (const auto& [k, v] : context) (*out)[k] = v;
}

// A factory of callers for the run's operation: one per channel.
using CallerFactory = std::function<std::unique_ptr<Caller>(std::shared_ptr<grpc::Channel>)>;

template <typename Req, typename Resp, typename AsyncF, typename SyncF>
CallerFactory Factory(std::shared_ptr<const Req> req, AsyncF async, SyncF sync,
                      std::function<void(const Resp&, Outcome&)> check, std::chrono::milliseconds timeout) {
  return [=](std::shared_ptr<grpc::Channel> channel) -> std::unique_ptr<Caller> {
    if constexpr (std::is_same_v<Req, v1::EchoRequest>) {
      std::shared_ptr<v1::Diagnostics::Stub> stub = v1::Diagnostics::NewStub(channel);
      return std::make_unique<TypedCaller<Req, Resp>>(
          req, [stub, async](auto* cc, auto* rq, auto* rs, auto cb) { async(*stub, cc, rq, rs, std::move(cb)); },
          [stub, sync](auto* cc, const auto& rq, auto* rs) { return sync(*stub, cc, rq, rs); }, check, timeout);
    } else {
      std::shared_ptr<v1::Crypto::Stub> stub = v1::Crypto::NewStub(channel);
      return std::make_unique<TypedCaller<Req, Resp>>(
          req, [stub, async](auto* cc, auto* rq, auto* rs, auto cb) { async(*stub, cc, rq, rs, std::move(cb)); },
          [stub, sync](auto* cc, const auto& rq, auto* rs) { return sync(*stub, cc, rq, rs); }, check, timeout);
    }
  };
}

// Size checks: a reply of the wrong size means the server is broken, and a
// benchmark of a broken server must not look good.
StatusOr<CallerFactory> MakeFactory(const client::ClientOptions& co, const BenchOptions& o) {
  const std::string payload = RandomPayload(o.size);
  const size_t size = o.size;
  const auto t = co.timeout;
  switch (o.op) {
    case BenchOp::kEncrypt: {
      auto req = std::make_shared<v1::EncryptRequest>();
      req->set_keyring(o.keyring);
      SetContext(req->mutable_context(), o.context);
      req->set_plaintext(payload);
      return Factory<v1::EncryptRequest, v1::EncryptResponse>(
          req, [](auto& s, auto* cc, auto* rq, auto* rs, auto cb) { s.async()->Encrypt(cc, rq, rs, std::move(cb)); },
          [](auto& s, auto* cc, const auto& rq, auto* rs) { return s.Encrypt(cc, rq, rs); },
          [size](const v1::EncryptResponse& r, Outcome& out) {
            if (r.ciphertext().size() <= size) out.bad_reply = "ciphertext shorter than its plaintext";
            out.messages_ok = 1;
            out.bytes_ok = size;
          },
          t);
    }
    case BenchOp::kDecrypt: {
      // One message, sealed once, opened over and over.
      SES_ASSIGN_OR_RETURN(auto c, client::Client::Connect(co));
      SES_ASSIGN_OR_RETURN(
          auto ciphertext,
          c->Encrypt(o.keyring, o.context,
                     std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())));
      auto req = std::make_shared<v1::DecryptRequest>();
      req->set_ciphertext(reinterpret_cast<const char*>(ciphertext.data()), ciphertext.size());
      SetContext(req->mutable_context(), o.context);
      return Factory<v1::DecryptRequest, v1::DecryptResponse>(
          req, [](auto& s, auto* cc, auto* rq, auto* rs, auto cb) { s.async()->Decrypt(cc, rq, rs, std::move(cb)); },
          [](auto& s, auto* cc, const auto& rq, auto* rs) { return s.Decrypt(cc, rq, rs); },
          [size](const v1::DecryptResponse& r, Outcome& out) {
            if (r.plaintext().size() != size) out.bad_reply = "plaintext of the wrong size";
            out.messages_ok = 1;
            out.bytes_ok = size;
          },
          t);
    }
    case BenchOp::kBatchEncrypt: {
      auto req = std::make_shared<v1::BatchEncryptRequest>();
      req->set_keyring(o.keyring);
      for (int i = 0; i < o.batch; ++i) {
        auto* item = req->add_items();
        item->set_plaintext(payload);
        SetContext(item->mutable_context(), o.context);
      }
      const auto items = static_cast<size_t>(o.batch);
      return Factory<v1::BatchEncryptRequest, v1::BatchEncryptResponse>(
          req,
          [](auto& s, auto* cc, auto* rq, auto* rs, auto cb) { s.async()->BatchEncrypt(cc, rq, rs, std::move(cb)); },
          [](auto& s, auto* cc, const auto& rq, auto* rs) { return s.BatchEncrypt(cc, rq, rs); },
          [size, items](const v1::BatchEncryptResponse& r, Outcome& out) {
            if (static_cast<size_t>(r.results_size()) != items) {
              out.bad_reply = "wrong number of batch results";
              return;
            }
            for (const auto& result : r.results()) {
              if (result.has_error()) {
                out.item_errors.emplace_back(result.error().code(), result.error().message());
              } else if (result.data().size() <= size) {
                out.item_errors.emplace_back(static_cast<int>(StatusCode::kInternal), "bad batch item reply");
              } else {
                ++out.messages_ok;
                out.bytes_ok += size;
              }
            }
          },
          t);
    }
    case BenchOp::kEcho: {
      auto req = std::make_shared<v1::EchoRequest>();
      req->set_payload(payload);
      return Factory<v1::EchoRequest, v1::EchoResponse>(
          req, [](auto& s, auto* cc, auto* rq, auto* rs, auto cb) { s.async()->Echo(cc, rq, rs, std::move(cb)); },
          [](auto& s, auto* cc, const auto& rq, auto* rs) { return s.Echo(cc, rq, rs); },
          [size](const v1::EchoResponse& r, Outcome& out) {
            if (r.payload().size() != size) out.bad_reply = "echo of the wrong size";
            out.messages_ok = 1;
            out.bytes_ok = size;
          },
          t);
    }
  }
  return InternalError("unknown bench operation");
}

Status WarmUp(Caller& caller, const std::string& server) {
  Outcome o = caller.Call();
  if (!o.status.ok()) return client::FromGrpcStatus(o.status, server).WithContext("warm-up call failed");
  if (!o.bad_reply.empty()) return InternalError("warm-up call: " + o.bad_reply);
  if (!o.item_errors.empty()) {
    const auto& [code, message] = o.item_errors.front();
    return Status(static_cast<StatusCode>(code), message).WithContext("warm-up batch item failed");
  }
  return OkStatus();
}

// Tracks calls in flight for the callback mode.
class InFlight {
 public:
  explicit InFlight(int limit) : limit_(limit) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return n_ < limit_; });
    ++n_;
  }
  void AddOne() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    --n_;
    cv_.notify_all();
  }
  // Waits until no call is in flight or `until`; true if none is.
  bool WaitIdleUntil(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, until, [&] { return n_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
  const int limit_;
};

Clock::time_point Due(Clock::time_point start, uint64_t i, double rate) {
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(i) / rate));
}

}  // namespace

StatusOr<std::unique_ptr<BenchReport>> RunLoad(const client::ClientOptions& co, const BenchOptions& o,
                                               const std::function<void(const BenchProgress&)>& progress) {
  SES_ASSIGN_OR_RETURN(CallerFactory factory, MakeFactory(co, o));
  std::vector<std::unique_ptr<Caller>> callers;
  const int channels = o.mode == BenchMode::kThreads ? o.concurrency : 1;
  for (int i = 0; i < channels; ++i) {
    SES_ASSIGN_OR_RETURN(auto channel, client::NewChannel(co, o.mode == BenchMode::kThreads));
    callers.push_back(factory(channel));
    SES_RETURN_IF_ERROR(WarmUp(*callers.back(), co.server));
  }

  auto report = std::make_unique<BenchReport>();
  Tally tally(*report);
  const bool open_loop = o.rate > 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + o.duration;
  std::atomic<int64_t> last_done{start.time_since_epoch().count()};
  auto finished = [&](Clock::time_point now) {
    int64_t t = now.time_since_epoch().count();
    int64_t seen = last_done.load(std::memory_order_relaxed);
    while (t > seen && !last_done.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
    }
  };

  InFlight in_flight(o.concurrency);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> next_due{0};

  // Callback mode. These outlive every call: the wait below ends only when
  // none is in flight.
  Caller& caller = *callers.front();
  // Closed loop: each completion starts the next call until the end.
  std::function<void(Clock::time_point)> closed;
  if (o.mode == BenchMode::kCallback) {
    closed = [&](Clock::time_point sent) {
      caller.Start([&, sent](const Outcome& out) {
        Clock::time_point now = Clock::now();
        tally.Add(out, now - sent, false);
        finished(now);
        if (now < end) {
          closed(now);
        } else {
          in_flight.Release();
        }
      });
    };
    if (!open_loop) {
      for (int i = 0; i < o.concurrency; ++i) {
        in_flight.AddOne();
        closed(Clock::now());
      }
    } else {
      // Open loop: a dispatcher sends each call at its due time, waiting for
      // a free slot when N are in flight (the wait counts as latency).
      threads.emplace_back([&] {
        for (uint64_t i = 0;; ++i) {
          Clock::time_point due = Due(start, i, o.rate);
          if (due >= end) break;
          std::this_thread::sleep_until(due);
          // A call still waiting for a slot at the end is counted, not sent:
          // the run ends on time even against a server far too slow.
          if (Clock::now() >= end) {
            tally.Unsent();
            continue;
          }
          in_flight.Acquire();
          if (Clock::now() >= end) {
            in_flight.Release();
            tally.Unsent();
            continue;
          }
          bool late = Clock::now() - due > kLateAfter;
          caller.Start([&, due, late](const Outcome& out) {
            Clock::time_point now = Clock::now();
            tally.Add(out, now - due, late);
            finished(now);
            in_flight.Release();
          });
        }
      });
    }
  } else {
    for (int w = 0; w < o.concurrency; ++w) {
      threads.emplace_back([&, w] {
        Caller& mine = *callers[static_cast<size_t>(w)];
        for (;;) {
          Clock::time_point due = Clock::now();
          bool late = false;
          if (open_loop) {
            due = Due(start, next_due.fetch_add(1, std::memory_order_relaxed), o.rate);
            if (due >= end) break;
            std::this_thread::sleep_until(due);
            if (Clock::now() >= end) {
              tally.Unsent();
              continue;
            }
            late = Clock::now() - due > kLateAfter;
          } else if (due >= end) {
            break;
          }
          Outcome out = mine.Call();
          Clock::time_point now = Clock::now();
          tally.Add(out, now - due, late);
          finished(now);
        }
      });
    }
  }

  // Progress once a second until the time is up, then wait for the calls in
  // flight.
  for (int tick = 1;; ++tick) {
    Clock::time_point next = start + std::chrono::seconds(tick);
    if (next > end) next = end;
    std::this_thread::sleep_until(next);
    if (progress) progress(tally.Progress(start));
    if (next >= end) break;
  }
  for (auto& t : threads) t.join();
  // The callbacks use this frame: wait for every one of them. Each call has
  // a deadline, so this ends.
  while (!in_flight.WaitIdleUntil(Clock::now() + std::chrono::seconds(1))) {
    if (progress) progress(tally.Progress(start));
  }
  tally.Fill();
  Clock::time_point last{Clock::duration(last_done.load())};
  report->elapsed_s = std::chrono::duration<double>(std::max(last, start + std::chrono::milliseconds(1)) - start).count();
  return report;
}

}  // namespace ses::cli
