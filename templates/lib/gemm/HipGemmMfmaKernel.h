// Internal: the HIP C++ source generator of hip.gemm.mfma.
#pragma once

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <string>

namespace kt::mfma {

struct Params {
  int64_t bm, bn, wm, wn, bk, pad;
};

inline Params readParams(const Config &c) {
  return {c.get("bm"), c.get("bn"), c.get("wm"),
          c.get("wn"), c.get("bk"), c.get("pad")};
}

/// One wave of 64 lanes per wm x wn wave tile.
inline int64_t threads(const Params &q) {
  return (q.bm / q.wm) * (q.bn / q.wn) * 64;
}

/// LDS: two buffers of the bm x bk A tile and bn x bk B tile, rows padded.
inline int64_t ldsBytes(const Params &q) {
  return 2 * (q.bm + q.bn) * (q.bk + q.pad) * 2;
}

/// f32 accumulators per lane: (wm/16) x (wn/16) MFMA 16x16 blocks of 4.
inline int64_t accumulators(const Params &q) {
  return (q.wm / 16) * (q.wn / 16) * 4;
}

/// K per MFMA instruction: 16x16x32 on gfx950, 16x16x16 on gfx942.
inline int64_t mfmaK(const std::string &arch) {
  return arch == "gfx950" ? 32 : 16;
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
