// Shared test helper: the CUDA compiler with the MLIR front end (or a
// skip where nvJitLink or NVRTC is absent) and cuda.gemm.mlir configs.
#pragma once

#include "ktune/compiler/MlirGpu.h"
#include "ktune/compiler/NvJitLink.h"

#include <cstdio>
#include <optional>

namespace kt::test {

inline Config mlirCfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn,
                      int64_t bk) {
  return {{"bm", bm}, {"bn", bn}, {"wm", wm}, {"wn", wn}, {"bk", bk}};
}

/// The compiler with the MLIR front end, or nullopt after the skip line.
inline std::optional<CudaCompiler> mlirCompiler(const char *target) {
  auto jit = NvJitLink::get();
  if (!jit) {
    std::printf("[SKIP] %s\n", jit.status().message().c_str());
    return std::nullopt;
  }
  auto c = CudaCompiler::create(*parseTarget(target), "", mlirPtxFrontend());
  if (!c) {
    std::printf("[SKIP] %s\n", c.status().message().c_str());
    return std::nullopt;
  }
  return std::move(*c);
}

} // namespace kt::test
