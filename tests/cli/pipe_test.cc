// 256 MiB through `sesctl encrypt | sesctl decrypt` over pipes: the output
// equals the input and neither process grows past 64 MiB, because both
// stream frame by frame.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <openssl/evp.h>

#include "process.h"
#include "test_env.h"

namespace ses {
namespace {

const std::string kSesctl = std::string(SES_TEST_BIN_DIR) + "/sesctl";
constexpr size_t kTotal = size_t{256} << 20;
constexpr long kMaxRssKib = 64 * 1024;

pid_t Spawn(const std::vector<std::string>& argv, int in_fd, int out_fd, const std::vector<int>& close_fds) {
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    for (int fd : close_fds) close(fd);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

struct Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Digest() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Digest() { EVP_MD_CTX_free(ctx); }
  void Update(const uint8_t* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::vector<uint8_t> Final() {
    std::vector<uint8_t> d(32);
    EVP_DigestFinal_ex(ctx, d.data(), nullptr);
    return d;
  }
};

TEST(PipeTest, QuarterGibibyteStreamsWithBoundedMemory) {
  testing::TempDir dir;
  ASSERT_EQ(testing::RunProcess({kSesctl, "init", dir.Join("s")}).exit_code, 0);
  const std::string conf = dir.Join("s/ses.conf");

  int to_enc[2], enc_to_dec[2], from_dec[2];
  ASSERT_EQ(pipe(to_enc), 0);
  ASSERT_EQ(pipe(enc_to_dec), 0);
  ASSERT_EQ(pipe(from_dec), 0);
  std::vector<int> all = {to_enc[0], to_enc[1], enc_to_dec[0], enc_to_dec[1], from_dec[0], from_dec[1]};
  pid_t enc = Spawn({kSesctl, "--config", conf, "encrypt", "--context", "k=v"}, to_enc[0], enc_to_dec[1], all);
  pid_t dec = Spawn({kSesctl, "--config", conf, "decrypt", "--context", "k=v"}, enc_to_dec[0], from_dec[1], all);
  for (int fd : {to_enc[0], enc_to_dec[0], enc_to_dec[1], from_dec[1]}) close(fd);

  Digest sent;
  std::thread writer([&] {
    std::vector<uint8_t> chunk = testing::PatternBytes(1 << 20, 5);
    for (size_t done = 0; done < kTotal; done += chunk.size()) {
      chunk[0] = static_cast<uint8_t>(done >> 20);  // no two chunks alike
      sent.Update(chunk.data(), chunk.size());
      for (size_t off = 0; off < chunk.size();) {
        ssize_t n = write(to_enc[1], chunk.data() + off, chunk.size() - off);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
      }
    }
    close(to_enc[1]);
  });

  Digest received;
  size_t total = 0;
  std::vector<uint8_t> buf(1 << 16);
  for (;;) {
    ssize_t n = read(from_dec[0], buf.data(), buf.size());
    if (n <= 0) break;
    received.Update(buf.data(), static_cast<size_t>(n));
    total += static_cast<size_t>(n);
  }
  close(from_dec[0]);
  writer.join();

  int enc_status = 0, dec_status = 0;
  struct rusage enc_usage {}, dec_usage {};
  wait4(enc, &enc_status, 0, &enc_usage);
  wait4(dec, &dec_status, 0, &dec_usage);
  EXPECT_EQ(WEXITSTATUS(enc_status), 0);
  EXPECT_EQ(WEXITSTATUS(dec_status), 0);
  EXPECT_EQ(total, kTotal);
  EXPECT_EQ(received.Final(), sent.Final());
  EXPECT_LT(enc_usage.ru_maxrss, kMaxRssKib) << "encrypt peak RSS KiB";
  EXPECT_LT(dec_usage.ru_maxrss, kMaxRssKib) << "decrypt peak RSS KiB";
  std::printf("peak RSS: encrypt %ld KiB, decrypt %ld KiB (limit %ld KiB)\n", enc_usage.ru_maxrss,
              dec_usage.ru_maxrss, kMaxRssKib);
}

}  // namespace
}  // namespace ses
