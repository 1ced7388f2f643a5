// sesd's telemetry end to end: /metrics after real traffic holds the
// request, latency, cache and provider series and passes `promtool check
// metrics`; /healthz answers; and /readyz with gRPC health follow a real
// SoftHSM2 token that becomes unreachable and comes back.
//
// The outage is made by tests/daemon/pkcs11_fault_shim.cc, a PKCS#11 module
// in front of SoftHSM2 that answers CKR_DEVICE_ERROR while a file exists:
// what a network HSM's library says while the appliance is unreachable.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "e2e_util.h"
#include "ses/client/client.h"
#include "sesd_process.h"
#include "softhsm_rig.h"
#include "test_env.h"
#include "tls/dev_pki.h"

namespace ses::testing {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

const EncryptionContext kContext = {{"tenant", "acme"}, {"purpose", "telemetry"}};

// promtool from Debian's prometheus package, or "" if it is not installed.
std::string Promtool() {
  for (const char* path : {"/usr/bin/promtool", "/usr/local/bin/promtool"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

TEST(SesdTelemetryTest, MetricsAfterTrafficAreCompleteAndPassPromtool) {
  TempDir tmp;
  auto started = SesdProcess::Start(tmp.path() / "dev");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  SesdProcess& sesd = **started;
  auto c = client::Client::Connect(sesd.ClientOptions());
  ASSERT_TRUE(c.ok());
  client::Client& client = **c;

  constexpr int kGood = 5;
  // Data keys come from the cache after the first; the engine charges hits
  // to the shared counter 64 at a time per thread, so a batch (one thread)
  // of 100 items makes sure some are counted.
  std::vector<Bytes> batch(100, PatternBytes(50));
  std::vector<client::BatchEncryptItem> items;
  for (const auto& p : batch) items.push_back({p, kContext});
  auto sealed_batch = client.BatchEncrypt("dev", items);
  ASSERT_TRUE(sealed_batch.ok()) << sealed_batch.status().ToString();
  for (int i = 0; i < kGood; ++i) {
    const Bytes plaintext = PatternBytes(1000 + i, i);
    auto sealed = client.Encrypt("dev", kContext, plaintext);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    auto opened = client.Decrypt(*sealed, kContext);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  }
  EXPECT_FALSE(client.Decrypt(PatternBytes(300, 1), kContext).ok());
  EXPECT_FALSE(client.Decrypt(PatternBytes(300, 2), kContext).ok());
  EXPECT_FALSE(client.Encrypt("no-such-ring", kContext, PatternBytes(10)).ok());

  // Each call is counted before its status goes out, so no waiting here.
  std::string body;
  ASSERT_EQ(HttpGet(sesd.telemetry(), "/metrics", &body), 200);
  auto value = [&](const std::string& series) { return MetricValue(body, series).value_or(-1); };
  EXPECT_EQ(value(R"(ses_requests_total{method="Encrypt",code="OK"})"), kGood) << body;
  EXPECT_EQ(value(R"(ses_requests_total{method="Decrypt",code="OK"})"), kGood);
  EXPECT_EQ(value(R"(ses_requests_total{method="Decrypt",code="INVALID_ARGUMENT"})"), 2);
  EXPECT_EQ(value(R"(ses_requests_total{method="Encrypt",code="NOT_FOUND"})"), 1);
  EXPECT_EQ(value(R"(ses_request_duration_seconds_bucket{method="Encrypt",le="+Inf"})"), kGood + 1);
  EXPECT_EQ(value(R"(ses_request_duration_seconds_count{method="Decrypt"})"), kGood + 2);
  EXPECT_GT(value(R"(ses_request_duration_seconds_sum{method="Decrypt"})"), 0);
  EXPECT_EQ(value(R"(ses_keyring_requests_total{keyring="dev",method="Encrypt"})"), kGood);
  EXPECT_GE(value("ses_data_key_cache_hits_total"), 64);
  EXPECT_GE(value("ses_data_key_cache_misses_total"), 1);
  EXPECT_GE(value(R"(ses_provider_calls_total{provider="keyfile",op="wrap",outcome="ok"})"), 1) << body;
  EXPECT_GE(value(R"(ses_provider_calls_total{provider="keyfile",op="health",outcome="ok"})"), 1);
  EXPECT_TRUE(Contains(body, R"(ses_provider_call_duration_seconds_bucket{provider="keyfile",op="wrap",le=)"));
  EXPECT_EQ(value("ses_ready"), 1);
  EXPECT_EQ(value("ses_inflight_requests"), 0);

  const std::string promtool = Promtool();
  ASSERT_FALSE(promtool.empty()) << "promtool is missing: apt-get install prometheus";
  const std::string file = (tmp.path() / "metrics.txt").string();
  WriteFile(file, body);
  CommandResult check = RunShell(promtool + " check metrics < " + file);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool lint findings";

  std::string health;
  EXPECT_EQ(HttpGet(sesd.telemetry(), "/healthz", &health), 200);
  EXPECT_EQ(health, "ok\n");
  std::string ready;
  EXPECT_EQ(HttpGet(sesd.telemetry(), "/readyz", &ready), 200);
  EXPECT_TRUE(Contains(ready, "ok provider/keyfile")) << ready;
  EXPECT_TRUE(Contains(ready, "ok store")) << ready;
}

// sesd over a real SoftHSM2 token behind the fault shim, in --config mode.
class HsmReadinessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kPkcs11Plugin)) << kPkcs11Plugin << " was not built";
    rig_ = std::make_unique<SoftHsmRig>(RigOptions{.aes_keys = {"master"}});
    rig_->Activate();
    fault_file_ = tmp_.path() / "hsm-unreachable";
    const fs::path dir = tmp_.path() / "sesd";
    fs::create_directories(dir);
    tls::DevPkiPaths pki;
    Status s = tls::EnsureDevPki(dir, &pki);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const fs::path config = dir / "sesd.conf";
    WriteFile(config.string(), "[server]\nlisten = 127.0.0.1:0\n\n"
                               "[tls]\ncert_file = " + pki.server_cert.string() +
                                   "\nkey_file = " + pki.server_key.string() +
                                   "\nclient_ca_file = " + pki.ca_cert.string() +
                                   "\n\n[telemetry]\nlisten = 127.0.0.1:0\n\n"
                                   "[store]\nplugin = store-sqlite\npath = " + (dir / "store.db").string() +
                                   "\npoll_seconds = 1\n\n"
                                   "[provider.pkcs11]\nmodule = " SES_TEST_FAULT_SHIM "\npin_file = " +
                                   rig_->user_pin_file() +
                                   "\n\n[keyring.hsm]\nkey = " + rig_->UriWithoutPin("master") + "\n");
    SesdOptions options;
    options.config = config;
    options.env = {{"SOFTHSM2_CONF", rig_->conf()},
                   {"SES_PKCS11_FAULT_FILE", fault_file_.string()},
                   {"SES_PKCS11_REAL_MODULE", kSoftHsmModule}};
    auto started = SesdProcess::Start(dir, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    sesd_ = std::move(*started);
  }

  void TearDown() override {
    if (sesd_ != nullptr) {
      const std::string log = sesd_->Log();
      for (const std::string& pin : {rig_->user_pin(), rig_->so_pin()}) {
        EXPECT_FALSE(Contains(log, pin)) << "a PIN in the daemon log";
      }
    }
  }

  int Readyz(std::string* body = nullptr) { return HttpGet(sesd_->telemetry(), "/readyz", body); }
  double Metric(const std::string& series) {
    std::string body;
    if (HttpGet(sesd_->telemetry(), "/metrics", &body) != 200) return -1;
    return MetricValue(body, series).value_or(0);
  }
  void SetUnreachable(bool unreachable) {
    if (unreachable) {
      WriteFile(fault_file_.string(), "");
    } else {
      fs::remove(fault_file_);
    }
  }

  TempDir tmp_;
  std::unique_ptr<SoftHsmRig> rig_;
  fs::path fault_file_;
  std::unique_ptr<SesdProcess> sesd_;
};

TEST_F(HsmReadinessTest, ReadinessFollowsTheTokenOutAndBackIn) {
  constexpr auto kProbeWait = std::chrono::seconds(30);  // the probe runs every second
  const std::string failed_health = R"(ses_provider_calls_total{provider="pkcs11",op="health",outcome="UNAVAILABLE"})";
  ASSERT_TRUE(WaitFor([&] { return Readyz() == 200; }, kProbeWait)) << sesd_->Log();
  auto c = client::Client::Connect(sesd_->ClientOptions());
  ASSERT_TRUE(c.ok());
  client::Client& client = **c;
  const Bytes plaintext = PatternBytes(3000, 5);
  auto sealed = client.Encrypt("hsm", kContext, plaintext);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  auto channel = OwnChannel(sesd_->ClientOptions());
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(CheckHealth(channel, "").serving_status, 1);
  EXPECT_EQ(CheckHealth(channel, "ses.v1.Crypto").serving_status, 1);

  // The token becomes unreachable.
  SetUnreachable(true);
  std::string body;
  ASSERT_TRUE(WaitFor([&] { return Readyz(&body) == 503; }, kProbeWait)) << sesd_->Log();
  EXPECT_TRUE(Contains(body, "not ready\n")) << body;
  EXPECT_TRUE(Contains(body, "fail provider/pkcs11: ")) << body;
  EXPECT_TRUE(Contains(body, "CKR_DEVICE_ERROR")) << body;
  EXPECT_FALSE(Contains(body, "fail store")) << body;
  EXPECT_TRUE(WaitFor([&] { return CheckHealth(channel, "").serving_status == 2; }, kProbeWait));
  EXPECT_EQ(CheckHealth(channel, "ses.v1.Crypto").serving_status, 2);
  EXPECT_EQ(Metric("ses_ready"), 0);

  // A call that needs the token fails UNAVAILABLE naming the token's error
  // (a fresh data key is never served from the cache).
  auto grant = client.GenerateDataKey("hsm", kContext);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.status().code(), StatusCode::kUnavailable) << grant.status().ToString();
  EXPECT_TRUE(Contains(grant.status().message(), "CKR_DEVICE_ERROR")) << grant.status().message();
  // That failure dropped the provider's sessions; the probe must keep seeing
  // the outage anyway, not report ready because nothing is open.
  const double failed_so_far = Metric(failed_health);
  EXPECT_TRUE(WaitFor([&] { return Metric(failed_health) >= failed_so_far + 2; }, kProbeWait))
      << "the probe stopped failing while the token is still unreachable";
  EXPECT_EQ(Readyz(&body), 503) << body;

  // And back.
  SetUnreachable(false);
  ASSERT_TRUE(WaitFor([&] { return Readyz(&body) == 200; }, kProbeWait)) << body << sesd_->Log();
  EXPECT_TRUE(Contains(body, "ok provider/pkcs11")) << body;
  EXPECT_TRUE(WaitFor([&] { return CheckHealth(channel, "").serving_status == 1; }, kProbeWait));
  EXPECT_EQ(CheckHealth(channel, "ses.v1.Crypto").serving_status, 1);
  EXPECT_EQ(Metric("ses_ready"), 1);
  auto opened = client.Decrypt(*sealed, kContext);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(*opened == plaintext);
  auto again = client.GenerateDataKey("hsm", kContext);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto key = client.DecryptDataKey(again->encrypted_key, kContext);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(*key == again->data_key);
}

}  // namespace
}  // namespace ses::testing
