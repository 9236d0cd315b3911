// Internal: the MLIR text generator of hip.attention.mlir.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::hipattnmlir {

struct Params {
  int64_t waves, kv;
  int64_t split = 1, pack = 0;
  /// The softmax numerics variant: 1 is lazy rescaling (a wave keeps its
  /// stale maxima until a query grows by more than 8 in log2 units).
  int64_t lazy = 0;
  /// K / V staging: 1 synchronous; 2 the next block fetched into registers
  /// (16-byte loads) while the current one is computed.
  int64_t stages = 1;
};

/// split, pack, lazy and stages are optional: configurations stored before
/// they existed lack them (1, 0, 0 and 1).
inline Params readParams(const Config &c) {
  return {c.get("waves"),   c.get("kv"),      c.get("split", 1),
          c.get("pack", 0), c.get("lazy", 0), c.get("stages", 1)};
}

/// Query rows per workgroup: 16 per wave.
inline int64_t rows(const Params &q) { return 16 * q.waves; }
inline int64_t threads(const Params &q) { return 64 * q.waves; }
/// LDS: the K block [kv][d + 8] and V transposed [d][kv + 8].
inline int64_t ldsBytes(const Params &q, int64_t d) {
  return (q.kv * (d + 8) + d * (q.kv + 8)) * 2;
}

/// The module (gpu.module for the rocdl target of `arch`) with the kernel
/// kt_attention(Q, K, V, O, scaleLog2) specialised to `p`; split kernels
/// also take the f32 workspace and the tile semaphores.
std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch);

} // namespace kt::hipattnmlir
