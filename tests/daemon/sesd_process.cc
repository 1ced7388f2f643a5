#include "sesd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace ses::testing {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t HighWaterMark(const std::string& status_file) {
  std::ifstream in(status_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // kB
  }
  return 0;
}

}  // namespace

std::string SesdBinary() { return std::string(SES_TEST_BIN_DIR) + "/sesd"; }
std::string SesctlBinary() { return std::string(SES_TEST_BIN_DIR) + "/sesctl"; }

StatusOr<std::unique_ptr<SesdProcess>> SesdProcess::Start(const fs::path& dir, SesdOptions options) {
  std::unique_ptr<SesdProcess> p(new SesdProcess());
  p->dir_ = dir;
  fs::create_directories(dir);
  const fs::path port_file = dir / "ports";
  fs::remove(port_file);

  std::vector<std::string> args = {SesdBinary()};
  if (options.config) {
    args.insert(args.end(), {"--config", options.config->string()});
  } else {
    args.insert(args.end(), {"--dev", "--dir", dir.string()});
  }
  args.insert(args.end(), {"--port-file", port_file.string()});
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::map<std::string, std::string> env = {{"SES_SERVER__LISTEN", "127.0.0.1:0"},
                                            {"SES_TELEMETRY__LISTEN", "127.0.0.1:0"},
                                            {"SES_PLUGIN_DIR", SES_TEST_PLUGIN_DIR}};
  for (const auto& [k, v] : options.env) env[k] = v;

  const std::string log = (dir / "sesd.log").string();
  const pid_t pid = fork();
  if (pid < 0) return Status(StatusCode::kInternal, "fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  p->pid_ = pid;
  // Ready when the port file appears; a process that exits first failed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(port_file)) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      p->exited_ = true;
      return Status(StatusCode::kFailedPrecondition, "sesd exited before listening: " + Slurp(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kDeadlineExceeded, "sesd did not start within 60 s: " + Slurp(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::istringstream ports(Slurp(port_file));
  std::string line;
  while (std::getline(ports, line)) {
    if (line.rfind("grpc=", 0) == 0) p->endpoint_ = line.substr(5);
    if (line.rfind("telemetry=", 0) == 0) p->telemetry_ = line.substr(10);
  }
  return p;
}

SesdProcess::~SesdProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

client::ClientOptions SesdProcess::ClientOptions() const {
  client::ClientOptions o;
  o.server = endpoint_;
  o.ca_file = (dir_ / "tls" / "ca.pem").string();
  o.cert_file = (dir_ / "tls" / "client.pem").string();
  o.key_file = (dir_ / "tls" / "client-key.pem").string();
  return o;
}

void SesdProcess::Signal(int sig) const { kill(pid_, sig); }

std::optional<int> SesdProcess::WaitExit(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

std::string SesdProcess::Log() const { return Slurp(dir_ / "sesd.log"); }

size_t SesdProcess::PeakRssBytes() const { return HighWaterMark("/proc/" + std::to_string(pid_) + "/status"); }

size_t SelfPeakRssBytes() { return HighWaterMark("/proc/self/status"); }

int HttpGet(const std::string& host_port, const std::string& path, std::string* body) {
  const auto colon = host_port.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return 0;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return 0;
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto space = response.find(' ');
  const auto head_end = response.find("\r\n\r\n");
  if (space == std::string::npos || head_end == std::string::npos) return 0;
  if (body) *body = response.substr(head_end + 4);
  return std::stoi(response.substr(space + 1, 3));
}

}  // namespace ses::testing
