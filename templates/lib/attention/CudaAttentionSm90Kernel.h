// Internal: the CUDA C++ source generator of cuda.attention.sm90.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::attn90 {

struct Params {
  int64_t kv, cons, stages, split, pack;
};

inline Params readParams(const Config &c) {
  return {c.get("kv"), c.get("cons"), c.get("stages"), c.get("split"),
          c.get("pack")};
}

/// Query rows per CTA: 64 per consumer warpgroup.
inline int64_t rows(const Params &q) { return 64 * q.cons; }
/// Threads per CTA: one producer warpgroup plus the consumers.
inline int64_t threads(const Params &q) { return 128 * (q.cons + 1); }

/// Dynamic shared memory: the Q tile, the K and V ring, three barriers per
/// stage, the split-KV arrival slots, and up to 1 KiB to align the tiles to
/// the 128-byte swizzle's 1024-byte period.
inline int64_t sharedBytes(const Params &q, int64_t d) {
  return rows(q) * d * 2 + q.stages * 2 * q.kv * d * 2 + q.stages * 3 * 8 +
         q.cons * 4 + 1024;
}

/// Registers a consumer thread holds live across a KV block: the scores
/// (kv / 2 f32), the output (d / 2 f32) and P as wgmma fragments (kv / 4).
inline int64_t liveRegisters(const Params &q, int64_t d) {
  return q.kv / 2 + d / 2 + q.kv / 4;
}

/// Registers per consumer thread after setmaxnreg (the producer keeps 24).
inline int64_t consumerRegisters(const Params &q) {
  return q.cons == 1 ? 255 : (q.cons == 2 ? 240 : 160);
}

/// The specialised kernel `kt_attention` for one problem and configuration.
std::string kernelSource(const Params &q, const AttentionProblem &p);

} // namespace kt::attn90
