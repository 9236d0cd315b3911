// Internal: the HIP C++ source generator of hip.gemm.mfma.
#pragma once

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <string>

namespace kt::mfma {

struct Params {
  int64_t bm, bn, wm, wn, bk, pad;
  /// MFMA block side: 16 (16x16 blocks) or 32 (32x32 blocks).
  int64_t mi = 16;
  /// K slices per tile (split-K).
  int64_t splitk = 1;
  /// K steps of bk per main-loop iteration (1 or 2).
  int64_t unroll = 1;
};

/// Configurations stored before mi, splitk and unroll existed read as
/// mi=16, splitk=1, unroll=1 (what their kernels did).
inline Params readParams(const Config &c) {
  return {c.get("bm"),     c.get("bn"),        c.get("wm"),
          c.get("wn"),     c.get("bk"),        c.get("pad"),
          c.get("mi", 16), c.get("splitk", 1), c.get("unroll", 1)};
}

/// One wave of 64 lanes per wm x wn wave tile.
inline int64_t threads(const Params &q) {
  return (q.bm / q.wm) * (q.bn / q.wn) * 64;
}

/// LDS: two buffers of the bm x bk A tile and bn x bk B tile, rows padded.
inline int64_t ldsBytes(const Params &q) {
  return 2 * (q.bm + q.bn) * (q.bk + q.pad) * 2;
}

/// f32 accumulators per lane: (wm/mi) x (wn/mi) blocks of mi * mi / 64
/// (4 for 16x16, 16 for 32x32), i.e. wm * wn / 64 whatever the block.
inline int64_t accumulators(const Params &q) {
  return (q.wm / q.mi) * (q.wn / q.mi) * (q.mi * q.mi / 64);
}

/// VGPRs a lane holds the next K step's A and B chunks in (16 bytes, 4
/// VGPRs, per chunk) between their global loads and their LDS stores.
inline int64_t fetchRegisters(const Params &q) {
  const int64_t t = threads(q);
  return 4 * ((q.bm * q.bk / 8 + t - 1) / t + (q.bn * q.bk / 8 + t - 1) / t);
}

/// K per 16x16 MFMA instruction: 16x16x32 on gfx950, 16x16x16 on gfx942.
inline int64_t mfmaK(const std::string &arch) {
  return arch == "gfx950" ? 32 : 16;
}

/// K per MFMA instruction of an mi x mi block: 16x16x32 / 32x32x16 on
/// gfx950, 16x16x16 / 32x32x8 on gfx942.
inline int64_t blockK(const std::string &arch, int64_t mi) {
  return mi == 32 ? mfmaK(arch) / 2 : mfmaK(arch);
}

std::string kernelSource(const Params &q, const GemmProblem &p,
                         const std::string &arch);

/// The parts of the text other MFMA kernels share, placed after their
/// #defines: hipPreamble() needs KT_MFMA_K and KT_BF16 (HIP qualifiers and
/// barrier from clang builtins, u16 / u32, f32x4 and u16x8 vectors, the
/// fragment type kt_frag and its KT_MFMA builtin); hipConversions() needs
/// KT_BF16 (kt_to_f32, kt_from_f32 with round to nearest even).
const char *hipPreamble();
const char *hipConversions();

} // namespace kt::mfma
