// sesd's process lifecycle, end to end: a kill -9 under load loses nothing
// that was acknowledged and leaves a store that opens again; SIGTERM drains
// (calls in flight finish, new ones are refused, exit code 0); SIGHUP
// reloads the TLS certificate without dropping open connections and refuses
// a broken one while the old keeps serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <grpcpp/client_context.h>

#include "e2e_util.h"
#include "ses/client/client.h"
#include "ses/registry.h"
#include "sesd_process.h"
#include "test_env.h"
#include "tls/dev_pki.h"

namespace ses::testing {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const EncryptionContext kContext = {{"tenant", "acme"}, {"purpose", "lifecycle"}};

std::unique_ptr<SesdProcess> StartSesd(const fs::path& dir) {
  auto started = SesdProcess::Start(dir);
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  return started.ok() ? std::move(*started) : nullptr;
}

bool Ready(const SesdProcess& sesd) { return HttpGet(sesd.telemetry(), "/readyz", nullptr) == 200; }

std::string AsString(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Writes `contents` over `to` (mode 0600) through a temp file renamed into place.
void Replace(const fs::path& to, const std::string& contents) {
  const fs::path tmp = to.string() + ".new";
  WriteFile(tmp.string(), contents);
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(tmp, to);
}

TEST(SesdLifecycleTest, KillNineLosesNoAcknowledgedCiphertext) {
  TempDir tmp;
  const fs::path dev = tmp.path() / "dev";
  auto sesd = StartSesd(dev);
  ASSERT_NE(sesd, nullptr);
  const client::ClientOptions options = sesd->ClientOptions();

  struct Acked {
    Bytes plaintext, ciphertext;
  };
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<bool> killed{false};
  std::atomic<int> failed_before_kill{0}, writers_done{0};
  std::string first_early_failure;
  auto writer = [&](uint32_t id) {
    auto c = client::Client::Connect(options);
    if (!c.ok()) {
      ++failed_before_kill;
      ++writers_done;
      return;
    }
    // Writes until the first failure, which must come after the kill.
    for (uint32_t i = 0;; ++i) {
      Bytes plaintext = PatternBytes(64 + (i * 37) % 4096, id * 1000003 + i);
      auto sealed = (*c)->Encrypt("dev", kContext, plaintext);
      if (!sealed.ok()) {
        if (!killed) {
          std::lock_guard lock(mu);
          if (failed_before_kill++ == 0) first_early_failure = sealed.status().ToString();
        }
        break;
      }
      std::lock_guard lock(mu);
      acked.push_back({std::move(plaintext), std::move(*sealed)});
    }
    ++writers_done;
  };
  std::thread a(writer, 1), b(writer, 2);
  constexpr size_t kAcknowledged = 300;
  const bool enough = WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return acked.size() >= kAcknowledged || writers_done > 0;
      },
      std::chrono::seconds(60));
  // Both writers are still writing: kill first, then wait for them to notice.
  killed = true;
  sesd->Signal(SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return writers_done == 2; }, std::chrono::seconds(60)));
  a.join();
  b.join();
  ASSERT_TRUE(enough);
  ASSERT_EQ(failed_before_kill, 0) << first_early_failure;
  EXPECT_EQ(sesd->WaitExit(std::chrono::seconds(30)), 128 + SIGKILL);
  sesd.reset();

  // The same directory starts again: the store opens cleanly.
  sesd = StartSesd(dev);
  ASSERT_NE(sesd, nullptr);
  EXPECT_TRUE(WaitFor([&] { return Ready(*sesd); }, std::chrono::seconds(30))) << sesd->Log();
  {
    auto c = client::Client::Connect(sesd->ClientOptions());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    std::lock_guard lock(mu);
    ASSERT_GE(acked.size(), kAcknowledged);
    size_t opened_ok = 0;
    for (const Acked& m : acked) {
      auto opened = (*c)->Decrypt(m.ciphertext, kContext);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      ASSERT_TRUE(*opened == m.plaintext);
      ++opened_ok;
    }
    EXPECT_EQ(opened_ok, acked.size());
  }  // the connection closes: an idle one would hold the drain for seconds

  // After a clean stop the store opens in-process and holds the keyring.
  sesd->Signal(SIGTERM);
  ASSERT_EQ(sesd->WaitExit(std::chrono::seconds(60)), 0) << sesd->Log();
  Registry registry;
  ASSERT_TRUE(registry.LoadDirectory(SES_TEST_PLUGIN_DIR).ok());
  auto store = registry.NewStore("store-sqlite", {{"path", (dev / "store.db").string()}});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->Health().ok());
  auto keyrings = (*store)->List("keyrings", "");
  ASSERT_TRUE(keyrings.ok()) << keyrings.status().ToString();
  EXPECT_NE(std::find(keyrings->begin(), keyrings->end(), "dev"), keyrings->end());
  auto record = (*store)->Get("keyrings", "dev");
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_TRUE(Contains(record->value, "key=keyfile://")) << record->value;
}

TEST(SesdLifecycleTest, SigtermDrainsTheCallsInFlightAndRefusesNewOnes) {
  TempDir tmp;
  const fs::path dev = tmp.path() / "dev";
  auto sesd = StartSesd(dev);
  ASSERT_NE(sesd, nullptr);
  ASSERT_TRUE(WaitFor([&] { return Ready(*sesd); }, std::chrono::seconds(30)));

  // A stream that is certainly in flight on the server: its first output
  // came back. A reader thread takes the output as it comes, as a real
  // client does: gRPC 1.51 closes a drained connection (shutdown(2)) right
  // after the last write, and a client whose socket buffer is still full
  // then gets a reset instead of the final status (reported to the lead).
  auto channel = OwnChannel(sesd->ClientOptions());
  ASSERT_NE(channel, nullptr);
  auto stub = RawStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->EncryptStream(&ctx);
  v1::EncryptStreamRequest start;
  start.mutable_start()->set_keyring("dev");
  for (const auto& [k, v] : kContext) (*start.mutable_start()->mutable_context())[k] = v;
  ASSERT_TRUE(stream->Write(start));
  Bytes plaintext;
  std::mutex mu;
  Bytes ciphertext;  // guarded by mu
  std::thread reader([&] {
    v1::StreamChunk chunk;
    while (stream->Read(&chunk)) {
      std::lock_guard lock(mu);
      ciphertext.insert(ciphertext.end(), chunk.data().begin(), chunk.data().end());
    }
  });
  auto send = [&](uint32_t seed) {
    const Bytes piece = PatternBytes(256 * 1024, seed);
    plaintext.insert(plaintext.end(), piece.begin(), piece.end());
    v1::EncryptStreamRequest data;
    data.set_data(AsString(piece));
    return stream->Write(data);
  };
  EXPECT_TRUE(send(1));
  const bool in_flight = WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return !ciphertext.empty();
      },
      std::chrono::seconds(30));
  // Whatever happens below, the reader ends before the stream is destroyed.
  struct JoinReader {
    grpc::ClientContext& ctx;
    std::thread& reader;
    ~JoinReader() {
      if (!reader.joinable()) return;
      ctx.TryCancel();
      reader.join();
    }
  } join_reader{ctx, reader};
  ASSERT_TRUE(in_flight) << "no output from the stream";

  sesd->Signal(SIGTERM);
  // New calls are refused once the daemon has seen the signal.
  auto other = client::Client::Connect(sesd->ClientOptions());
  ASSERT_TRUE(other.ok());
  Status refused;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = (*other)->Encrypt("dev", kContext, PatternBytes(10));
        refused = r.status();
        return !r.ok();
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.ToString();
  HealthReply health = CheckHealth(OwnChannel(sesd->ClientOptions()), "");
  EXPECT_FALSE(health.status.ok() && health.serving_status == 1) << "still SERVING while draining";
  // The stream holds the drain open, so telemetry is still up: it must say
  // "not ready", or a load balancer keeps sending calls that will be refused.
  std::string readyz;
  EXPECT_EQ(HttpGet(sesd->telemetry(), "/readyz", &readyz), 503) << readyz;
  EXPECT_TRUE(Contains(readyz, "draining")) << readyz;
  std::string metrics;
  ASSERT_EQ(HttpGet(sesd->telemetry(), "/metrics", &metrics), 200);
  EXPECT_EQ(MetricValue(metrics, "ses_ready"), 0.0);

  // The stream in flight carries on to the end.
  for (uint32_t seed = 2; seed < 6; ++seed) EXPECT_TRUE(send(seed));
  EXPECT_TRUE(stream->WritesDone());
  reader.join();
  grpc::Status finished = stream->Finish();
  EXPECT_EQ(sesd->WaitExit(std::chrono::seconds(60)), 0) << sesd->Log();
  const std::string log = sesd->Log();
  ASSERT_TRUE(finished.ok()) << finished.error_code() << ": " << finished.error_message() << "\n" << log;
  EXPECT_TRUE(Contains(log, "draining")) << log;
  EXPECT_TRUE(Contains(log, "stopped")) << log;
  EXPECT_EQ(FailureLines(log, "EncryptStream").size(), 0u) << log;

  // The drained stream's ciphertext opens offline with the same key.
  const std::string sealed = tmp.path() / "drained.ses";
  const std::string opened = tmp.path() / "drained.out";
  WriteFile(sealed, AsString(ciphertext));
  CommandResult r = RunShell(SesctlBinary() + " --config " + (dev / "sesd.conf").string() +
                             " decrypt --context tenant=acme --context purpose=lifecycle --in " + sealed +
                             " --out " + opened);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(ReadFile(opened) == AsString(plaintext));
}

TEST(SesdLifecycleTest, SighupReloadsTheCertificateAndRefusesABrokenOne) {
  TempDir tmp;
  const fs::path dev = tmp.path() / "dev";
  auto sesd = StartSesd(dev);
  ASSERT_NE(sesd, nullptr);
  const client::ClientOptions old_trust = sesd->ClientOptions();

  // An existing connection that trusts only the old CA, busy throughout.
  RoundTripLoop existing(old_trust, "dev", kContext, [](uint32_t i) { return PatternBytes(200 + i % 1000, i); });
  ASSERT_TRUE(existing.WaitForMore(1, std::chrono::seconds(30))) << existing.first_failure();

  // A certificate for the same names from a CA the old clients do not know.
  tls::DevPkiPaths fresh;
  ASSERT_TRUE(tls::EnsureDevPki(tmp.path() / "fresh", &fresh).ok());
  client::ClientOptions new_trust = old_trust;
  new_trust.ca_file = fresh.ca_cert.string();  // the client certificate stays the dev one (mTLS)
  new_trust.timeout = std::chrono::seconds(5);
  auto round_trip = [](const client::ClientOptions& o) {
    auto c = client::Client::Connect(o);
    if (!c.ok()) return c.status();
    auto sealed = (*c)->Encrypt("dev", kContext, PatternBytes(100));
    return sealed.status();
  };
  Status before = round_trip(new_trust);
  EXPECT_EQ(before.code(), StatusCode::kUnavailable) << "the new CA is trusted before the reload: " << before.ToString();

  Replace(dev / "tls" / "server.pem", ReadFile(fresh.server_cert.string()));
  Replace(dev / "tls" / "server-key.pem", ReadFile(fresh.server_key.string()));
  sesd->Signal(SIGHUP);
  Status after;
  EXPECT_TRUE(WaitFor([&] { return (after = round_trip(new_trust)).ok(); }, std::chrono::seconds(20)))
      << after.ToString() << "\n" << sesd->Log();
  EXPECT_TRUE(Contains(sesd->Log(), "TLS files reloaded"));
  // New handshakes get the new certificate: a new old-CA client is refused...
  client::ClientOptions old_short = old_trust;
  old_short.timeout = std::chrono::seconds(5);
  EXPECT_EQ(round_trip(old_short).code(), StatusCode::kUnavailable);
  // ...while the connection opened before the reload keeps working.
  EXPECT_TRUE(existing.WaitForMore(5, std::chrono::seconds(30))) << existing.first_failure();

  // A broken replacement is refused and the new certificate keeps serving.
  Replace(dev / "tls" / "server.pem", "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
  sesd->Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] { return Contains(sesd->Log(), "TLS reload refused"); }, std::chrono::seconds(20)))
      << sesd->Log();
  const std::string log = sesd->Log();
  const size_t at = log.find("TLS reload refused");
  const std::string refusal = log.substr(at, log.find('\n', at) - at);
  EXPECT_TRUE(Contains(refusal, "server.pem")) << refusal;
  Status still = round_trip(new_trust);
  EXPECT_TRUE(still.ok()) << still.ToString();
  EXPECT_TRUE(existing.WaitForMore(5, std::chrono::seconds(30))) << existing.first_failure();
  existing.Stop();
  EXPECT_EQ(existing.failures(), 0) << existing.first_failure();
  EXPECT_TRUE(Ready(*sesd));
}

}  // namespace
}  // namespace ses::testing
