// Internal: the CUDA C++ source generator of cuda.gemm.sm90.
#pragma once

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <string>

namespace kt::sm90 {

struct Params {
  int64_t bm, bn, stages, cons, group, splitk;
  /// CTAs per cluster: 1, or 2 for pairs of vertically adjacent tiles that
  /// share their B tile (each CTA loads half of it, multicast to both).
  int64_t cluster = 1;
};

/// `splitk` and `cluster` may be absent (configurations stored before they
/// existed): 1.
inline Params readParams(const Config &c) {
  return {c.get("bm"),    c.get("bn"),        c.get("stages"),    c.get("cons"),
          c.get("group"), c.get("splitk", 1), c.get("cluster", 1)};
}

/// Threads per CTA: one producer warpgroup plus the consumers.
inline int64_t threads(const Params &q) { return 128 * (q.cons + 1); }

/// Dynamic shared memory: the stage ring, the full/empty barriers, the
/// split-K arrival slots, and up to 1 KiB to align the ring to the 128-byte
/// swizzle's 1024-byte period.
inline int64_t sharedBytes(const Params &q) {
  return q.stages * (q.bm + q.bn) * 64 * 2 + q.stages * 2 * 8 + 16 + 1024;
}

/// The specialised kernel `kt_gemm` for one problem and configuration.
std::string kernelSource(const Params &q, const GemmProblem &p);

} // namespace kt::sm90
