// Internal: the CUDA C++ source generator of cuda.attention.sm90.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::attn90 {

/// overlap: 0 serial (scores, softmax, P V, each waited for in turn); 1 the
/// next block's scores issued before this block's softmax into a second
/// score accumulator; 2 the next block's scores and this block's P V issued
/// back to back, the next softmax running under P V (one score
/// accumulator). pingpong: consumer warpgroups take turns issuing their
/// GEMMs (overlap 2, two or more consumers). lazy: FlashAttention-4's lazy
/// rescaling, the rows of a warp keep their stale running maxima (and O is
/// not rescaled) until one of them would grow by more than 8 in log2 units.
/// persist: one CTA per SM, each walking tiles by the grid size; the
/// producer loads the next tile's first K / V blocks while the consumers
/// finish this one (no KV split). All four are absent from configurations
/// stored before they existed, which means 0.
struct Params {
  int64_t kv, cons, stages, split, pack, overlap, pingpong;
  int64_t lazy = 0;
  int64_t persist = 0;
};

inline Params readParams(const Config &c) {
  return {c.get("kv"),          c.get("cons"),    c.get("stages"),
          c.get("split"),       c.get("pack"),    c.get("overlap", 0),
          c.get("pingpong", 0), c.get("lazy", 0), c.get("persist", 0)};
}

/// Query rows per CTA: 64 per consumer warpgroup.
inline int64_t rows(const Params &q) { return 64 * q.cons; }
/// Threads per CTA: one producer warpgroup plus the consumers.
inline int64_t threads(const Params &q) { return 128 * (q.cons + 1); }

/// Dynamic shared memory: the Q tile, the K and V ring, three barriers per
/// stage (four with overlap: K and V are freed separately), the split-KV
/// arrival slots, and up to 1 KiB to align the tiles to the 128-byte
/// swizzle's 1024-byte period.
inline int64_t sharedBytes(const Params &q, int64_t d) {
  return rows(q) * d * 2 + q.stages * 2 * q.kv * d * 2 +
         q.stages * (q.overlap ? 4 : 3) * 8 + q.cons * 4 + 1024;
}

/// Registers a consumer thread holds live across a KV block: the scores
/// (kv / 2 f32), the output (d / 2 f32) and P as wgmma fragments (kv / 4).
/// With overlap 1 a second score accumulator (the next block's, in flight
/// during this block's softmax) and, as ptxas allocates it, about kv / 4
/// more: d 64 / kv 128 spills at 255 registers, d 128 / kv 64 takes 199.
inline int64_t liveRegisters(const Params &q, int64_t d) {
  const int64_t base = q.kv / 2 + d / 2 + q.kv / 4;
  return q.overlap == 1 ? base + q.kv / 2 + q.kv / 4 : base;
}

/// Registers per consumer thread after setmaxnreg (the producer keeps 24).
inline int64_t consumerRegisters(const Params &q) {
  return q.cons == 1 ? 255 : (q.cons == 2 ? 240 : 160);
}

/// The specialised kernel `kt_attention` for one problem and configuration.
std::string kernelSource(const Params &q, const AttentionProblem &p);

} // namespace kt::attn90
