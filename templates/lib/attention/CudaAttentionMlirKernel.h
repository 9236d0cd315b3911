// Internal: the MLIR text generator of cuda.attention.mlir.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::attnmlir {

struct Params {
  int64_t warps, kv;
  int64_t split = 1, pack = 0;
  /// The softmax numerics variant: 1 is lazy rescaling (a warp keeps its
  /// stale maxima until a row grows by more than 8 in log2 units).
  int64_t lazy = 0;
  /// K / V staging: 1 synchronous; 2 the next block fetched into registers
  /// (16-byte loads) while the current one is computed.
  int64_t stages = 1;
  /// Shared-memory fragment reads: 0 element loads (K's B fragments two
  /// 16-bit values at a time, V's one value at a time); 1 ldmatrix, x4 for
  /// K and x4.trans for V (one instruction per two mma.sync).
  int64_t ldsm = 0;
  /// With stages=2: 1 copies the next block with cp.async into a second
  /// pair of shared buffers instead of through registers.
  int64_t async = 0;
};

/// split, pack, lazy, stages, ldsm and async are optional: configurations
/// stored before they existed lack them (1, 0, 0, 1, 0 and 0).
inline Params readParams(const Config &c) {
  return {c.get("warps"),   c.get("kv"),      c.get("split", 1),
          c.get("pack", 0), c.get("lazy", 0), c.get("stages", 1),
          c.get("ldsm", 0), c.get("async", 0)};
}

/// Query rows per CTA: 16 per warp (one m16 mma row block).
inline int64_t rows(const Params &q) { return 16 * q.warps; }
inline int64_t threads(const Params &q) { return 32 * q.warps; }
/// Static shared memory: the K and V blocks (two of each with async), rows
/// padded by 8 elements.
inline int64_t sharedBytes(const Params &q, int64_t d) {
  return (q.async ? 2 : 1) * 2 * q.kv * (d + 8) * 2;
}

/// The module (gpu.module for the nvvm target of `arch`) with the kernel
/// kt_attention(Q, K, V, O, scaleLog2) specialised to `p`; split kernels
/// also take the f32 workspace and the tile semaphores.
std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch);

} // namespace kt::attnmlir
