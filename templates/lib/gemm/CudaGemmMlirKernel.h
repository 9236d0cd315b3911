// Internal: the MLIR source generator of cuda.gemm.mlir.
#pragma once

#include "MlirGpuGemm.h"

#include "ktune/problem/Config.h"

#include <string>

namespace kt::mlirgemm {

inline mlirgpu::Tiling readTiling(const Config &c) {
  return {c.get("bm"), c.get("bn"), c.get("wm"), c.get("wn"), c.get("bk")};
}

/// Lanes of an NVIDIA warp (one warp per wm x wn tile).
constexpr int64_t kWarp = 32;

/// The module for `arch` ("sm_90a", "sm_100a").
std::string kernelSource(const mlirgpu::Tiling &t, const GemmProblem &p,
                         const std::string &arch);

} // namespace kt::mlirgemm
