// Internal: the HIP C++ source generator of hip.attention.mfma.
#pragma once

#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <string>

namespace kt::attnmfma {

struct Params {
  int64_t waves, mi, kv, stages, split, pack;
  /// The softmax numerics variant: 1 keeps a query's stale maximum until a
  /// block outgrows it by more than 8 in log2 units (O and l rescaled only
  /// then, decided per wave), 0 rescales whenever the maximum rises. A
  /// configuration without the key reads as 0.
  int64_t lazy = 0;
};

inline Params readParams(const Config &c) {
  return {c.get("waves"), c.get("mi"),   c.get("kv"),  c.get("stages"),
          c.get("split"), c.get("pack"), c.get("lazy")};
}

/// Query rows per workgroup: each wave owns mi blocks of 16.
inline int64_t rows(const Params &q) { return q.waves * q.mi * 16; }
inline int64_t threads(const Params &q) { return q.waves * 64; }

/// LDS: per stage the K block [kv][d + 8] and V transposed [d][kv + 8]
/// (rows padded against bank conflicts), 16-bit elements, plus the split
/// arrival word.
inline int64_t ldsBytes(const Params &q, int64_t d) {
  return q.stages * (q.kv * (d + 8) + d * (q.kv + 8)) * 2 +
         (q.split > 1 ? 4 : 0);
}

/// VGPRs a lane holds live across a KV block: Q fragments (d / 2 per 16
/// queries), the output (d / 4 per 16 queries) and the scores (kv / 4 per
/// 16 queries).
inline int64_t liveRegisters(const Params &q, int64_t d) {
  return q.mi * (d / 2 + d / 4 + q.kv / 4);
}

/// The specialised kernel `kt_attention` for one problem, configuration
/// and arch (gfx950 or gfx942).
std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch);

} // namespace kt::attnmfma
