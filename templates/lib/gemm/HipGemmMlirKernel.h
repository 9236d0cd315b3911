// Internal: the MLIR source generator of hip.gemm.mlir.
#pragma once

#include "MlirGpuGemm.h"

#include "ktune/problem/Config.h"

#include <string>

namespace kt::hipmlir {

inline mlirgpu::Tiling readTiling(const Config &c) {
  return {c.get("bm"), c.get("bn"), c.get("wm"), c.get("wn"), c.get("bk")};
}

/// K per MFMA: 16x16x32 on gfx950, 16x16x16 on gfx942.
inline int64_t mfmaK(const std::string &arch) {
  return arch == "gfx950" ? 32 : 16;
}

/// The module for `arch` ("gfx950", "gfx942").
std::string kernelSource(const mlirgpu::Tiling &t, const GemmProblem &p,
                         const std::string &arch);

} // namespace kt::hipmlir
