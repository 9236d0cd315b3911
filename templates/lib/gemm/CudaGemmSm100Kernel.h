// Internal: the CUDA C++ source generator of cuda.gemm.sm100.
#pragma once

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <string>

namespace kt::sm100 {

struct Params {
  int64_t bn, stages, acc, group;
  /// K slices per tile (split-K); 1 for configurations stored before it
  /// existed.
  int64_t splitk = 1;
  /// CTAs per cluster: 1, or 2 for pairs of vertically adjacent tiles that
  /// share their B tile (each CTA loads half of it, multicast to both, and
  /// issues its own MMAs).
  int64_t cluster = 1;
};

/// `splitk` and `cluster` may be absent (configurations stored before they
/// existed): 1.
inline Params readParams(const Config &c) {
  return {c.get("bn"),    c.get("stages"),    c.get("acc"),
          c.get("group"), c.get("splitk", 1), c.get("cluster", 1)};
}

/// Tensor-memory columns to allocate: acc accumulators of bn f32 columns,
/// rounded up to a power of two of at least 32 (tcgen05.alloc's rule).
inline int64_t tmemColumns(const Params &q) {
  int64_t cols = 32;
  while (cols < q.acc * q.bn) {
    cols *= 2;
  }
  return cols;
}

/// Dynamic shared memory: the stage ring (128 x 64 A and bn x 64 B per
/// stage), the barriers, the tensor-memory address slot and split-K
/// ticket, and 1 KiB of alignment slack.
inline int64_t sharedBytes(const Params &q) {
  return q.stages * (128 + q.bn) * 64 * 2 + (2 * q.stages + 2 * q.acc) * 8 +
         16 + 1024;
}

/// The 32-bit tcgen05 instruction descriptor (kind::f16, f32 accumulate,
/// M = 128, N = bn, operand majorness from the layout).
uint32_t instructionDescriptor(const Params &q, const GemmProblem &p);

std::string kernelSource(const Params &q, const GemmProblem &p);

/// The tcgen05 helpers the sm_100a families share: the MMA commit to an
/// mbarrier, the fences around thread synchronisation, and the 32x32b load
/// of 16 tensor-memory columns of the thread's lane.
const char *tcgen05Source();

} // namespace kt::sm100
