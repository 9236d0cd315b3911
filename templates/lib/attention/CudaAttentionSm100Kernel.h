// Internal: the CUDA C++ source generator of cuda.attention.sm100.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::attn100 {

struct Params {
  int64_t kv, stages, split, pack;
  /// The softmax numerics variant: 1 keeps a row's stale maximum until it
  /// is outgrown by more than 2^8 (O rescaled rarely), 0 rescales whenever
  /// the maximum rises.
  int64_t lazy = 1;
};

inline Params readParams(const Config &c) {
  return {c.get("kv"), c.get("stages"), c.get("split"), c.get("pack"),
          c.get("lazy")};
}

/// Query rows per CTA: the 128 tensor-memory lanes of one tcgen05 MMA.
constexpr int64_t kRows = 128;
/// Threads: a TMA warp, an MMA warp and four softmax / epilogue warps.
constexpr int64_t kThreads = 192;

/// Tensor-memory columns: S (kv f32), P (kv / 2 columns of 16-bit pairs)
/// and O (d f32), rounded up to the power of two tcgen05.alloc takes.
inline int64_t tmemColumns(const Params &q, int64_t d) {
  int64_t cols = 32;
  while (cols < q.kv + q.kv / 2 + d) {
    cols *= 2;
  }
  return cols;
}

/// Dynamic shared memory: the Q tile, the K and V ring, the barriers, the
/// tensor-memory slot and split flag, and 1 KiB of alignment slack.
inline int64_t sharedBytes(const Params &q, int64_t d) {
  return kRows * d * 2 + q.stages * 2 * q.kv * d * 2 + (3 * q.stages + 4) * 8 +
         16 + 1024;
}

/// The tcgen05 instruction descriptor (kind::f16, f32 accumulate, M = 128)
/// of an n-wide product whose B operand is N-major when `bMnMajor`.
uint32_t instructionDescriptor(const AttentionProblem &p, int64_t n,
                               bool bMnMajor);

/// The specialised kernel `kt_attention` for one problem and configuration.
std::string kernelSource(const Params &q, const AttentionProblem &p);

} // namespace kt::attn100
