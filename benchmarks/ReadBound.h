// The CPU's read bound for a decode problem: the time a plain streaming read
// of the same K and V bytes takes on the same threads. A decode kernel reads
// every K and V element once and does little arithmetic per byte, so this
// is the floor its time can approach (the CPU counterpart of the GPU
// benchmark's copy-bandwidth bound). Each thread reads one contiguous slice
// of K and one of V: the access pattern the hardware prefetchers like best.
#pragma once

#include "ktune/device/ThreadPool.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/DType.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/GemmBench.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace kt::bench {

/// Reads [data, data + bytes) in 8-byte words, summing them so the loads
/// stay (the compiler vectorises the sum).
inline uint64_t sumWords(const char *data, int64_t bytes) {
  uint64_t sum = 0;
  for (int64_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    sum += w;
  }
  return sum;
}

/// Where readKV leaves its sum, so that the reads cannot be dropped.
inline volatile uint64_t readSink = 0;

/// Bytes of one of `p`'s K or V tensors.
inline int64_t kvBytes(const AttentionProblem &p) {
  return p.kvElements() * dtypeSize(p.dtype);
}

/// Reads `kBytes` at `k` and `vBytes` at `v` with the pool's threads, each
/// taking one slice of both.
inline void readKV(ThreadPool &pool, const void *k, const void *v,
                   int64_t kBytes, int64_t vBytes) {
  const int64_t parts = pool.size();
  std::atomic<uint64_t> total{0};
  pool.parallelFor(parts, [&](int64_t i) {
    auto slice = [&](const void *base, int64_t bytes) {
      const int64_t per = (bytes / parts + 63) / 64 * 64;
      const int64_t begin = std::min(bytes, i * per);
      const int64_t end = std::min(bytes, begin + per);
      return sumWords(static_cast<const char *>(base) + begin, end - begin);
    };
    total += slice(k, kBytes) + slice(v, vBytes);
  });
  readSink = total.load();
}

/// The plain read of `p`'s K and V timed over `args`' rotating sets, as the
/// kernels are.
inline Timing timeReadKV(ThreadPool &pool, const AttentionProblem &p,
                         const RotatingAttentionArgs &args,
                         const TimingOptions &options = TimingOptions()) {
  return timeRotating(
      [&](int s) {
        readKV(pool, args.k(s), args.v(s), kvBytes(p), kvBytes(p));
      },
      args.sets(), options);
}

} // namespace kt::bench
