#include "util/random.h"

#include <pthread.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace ses::internal {
namespace {

std::atomic<uint64_t> fork_generation{0};
std::once_flag atfork_once;

void OnForkChild() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct Batch {
  static constexpr size_t kSize = 4096;
  uint8_t bytes[kSize];
  size_t pos = kSize;
  uint64_t generation = 0;
  ~Batch() { OPENSSL_cleanse(bytes, sizeof(bytes)); }
};

}  // namespace

Status RandomBytes(uint8_t* out, size_t n) {
  // Keys come from the private DRBG, which never serves public values.
  if (RAND_priv_bytes(out, static_cast<int>(n)) != 1) return InternalError("RAND_priv_bytes failed");
  return OkStatus();
}

Status RandomBytesBatched(uint8_t* out, size_t n) {
  std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, &OnForkChild); });
  thread_local Batch batch;
  uint64_t gen = fork_generation.load(std::memory_order_relaxed);
  if (batch.pos + n > Batch::kSize || batch.generation != gen) {
    if (RAND_bytes(batch.bytes, Batch::kSize) != 1) return InternalError("RAND_bytes failed");
    batch.pos = 0;
    batch.generation = gen;
  }
  // Message ids are public (they sit in every header), so handing them out
  // needs no wipe; the batch is still never handed out twice.
  std::memcpy(out, batch.bytes + batch.pos, n);
  batch.pos += n;
  return OkStatus();
}

}  // namespace ses::internal
