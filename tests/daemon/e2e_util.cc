#include "e2e_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <future>
#include <sstream>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include "ses/client/channel.h"

namespace ses::testing {

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::shared_ptr<grpc::Channel> OwnChannel(const client::ClientOptions& options) {
  auto channel = client::NewChannel(options, /*own_connection=*/true);
  EXPECT_TRUE(channel.ok()) << channel.status().ToString();
  return channel.ok() ? *channel : nullptr;
}

std::unique_ptr<v1::Crypto::Stub> RawStub(const std::shared_ptr<grpc::Channel>& channel) {
  return v1::Crypto::NewStub(channel);
}

HealthReply CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                        std::chrono::milliseconds timeout) {
  // HealthCheckRequest{string service = 1}; HealthCheckResponse{enum status = 1}.
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');
    request_bytes.push_back(static_cast<char>(service.size()));  // short names only
    request_bytes += service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::GenericStub stub(channel);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  HealthReply reply;
  reply.status = done.get_future().get();
  if (!reply.status.ok()) return reply;
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  reply.serving_status = 0;  // proto3: an absent field is the default, UNKNOWN
  if (bytes.size() >= 2 && bytes[0] == '\x08') reply.serving_status = static_cast<unsigned char>(bytes[1]);
  return reply;
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> FailureLines(const std::string& log, const std::string& method) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (Contains(line, "call failed") && Contains(line, " method=" + method + " ")) found.push_back(line);
  }
  return found;
}

RoundTripLoop::RoundTripLoop(const client::ClientOptions& options, std::string keyring, EncryptionContext context,
                             std::function<std::vector<uint8_t>(uint32_t)> make_plaintext)
    : keyring_(std::move(keyring)), context_(std::move(context)), make_plaintext_(std::move(make_plaintext)) {
  auto c = client::Client::Connect(options);
  if (!c.ok()) {
    Fail(c.status().ToString());
    return;
  }
  client_ = std::move(*c);
  thread_ = std::thread([this] { Run(); });
}

RoundTripLoop::~RoundTripLoop() { Stop(); }

void RoundTripLoop::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string RoundTripLoop::first_failure() const {
  std::lock_guard lock(mu_);
  return first_failure_;
}

bool RoundTripLoop::WaitForMore(int n, std::chrono::milliseconds timeout) const {
  const int target = round_trips_ + n;
  return WaitFor([&] { return round_trips_ >= target || failures_ > 0; }, timeout) && failures_ == 0;
}

void RoundTripLoop::Fail(const std::string& what) {
  std::lock_guard lock(mu_);
  if (failures_++ == 0) first_failure_ = what;
}

void RoundTripLoop::Run() {
  for (uint32_t i = 0; !stop_; ++i) {
    const std::vector<uint8_t> plaintext = make_plaintext_(i);
    auto sealed = client_->Encrypt(keyring_, context_, plaintext);
    if (!sealed.ok()) {
      Fail("Encrypt: " + sealed.status().ToString());
      continue;
    }
    auto opened = client_->Decrypt(*sealed, context_);
    if (!opened.ok()) {
      Fail("Decrypt: " + opened.status().ToString());
    } else if (*opened != plaintext) {
      Fail("Decrypt returned other bytes");
    } else {
      ++round_trips_;
    }
  }
}

}  // namespace ses::testing
