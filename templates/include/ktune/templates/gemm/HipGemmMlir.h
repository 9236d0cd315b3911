// The MLIR MFMA GEMM family for AMD Instinct, lowered through the ROCDL
// dialect for gfx950 and gfx942.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// The AMD counterpart of cuda.gemm.mlir, from the same MLIR skeleton
/// (shared-memory tiles, K-contiguous whatever the layout, bounded
/// alpha/beta store): waves of 64 lanes compute wm x wn tiles of 16x16
/// `amdgpu.mfma` blocks (16x16x32 on gfx950, 16x16x16 on gfx942), bf16 /
/// fp16 in, f32 accumulate. Specialised to static shapes (bare pointers).
/// Lowered in process: convert-gpu-to-rocdl, then the LLVM AMDGPU backend and
/// ld.lld to a code object (gpu-module-to-binary). Compiled and inspected
/// only: no AMD GPU is reachable here.
///
/// Parameters: bm, bn (32..256), wm, wn (multiples of 16 dividing them), bk
/// (a multiple of the MFMA's K: 32 or 64 on gfx950, 16, 32 or 64 on gfx942).
class HipGemmMlir final : public GemmTemplate {
public:
  std::string name() const override { return "hip.gemm.mlir"; }
  std::string sourceHash() const override;
  bool supports(const GemmProblem &problem,
                const TargetDesc &target) const override;
  std::vector<Config> space(const GemmProblem &problem,
                            const TargetDesc &target) const override;
  Config defaultConfig(const GemmProblem &problem,
                       const TargetDesc &target) const override;
  Status validate(const Config &config, const GemmProblem &problem,
                  const TargetDesc &target) const override;
  Result<KernelSource> instantiate(const Config &config,
                                   const GemmProblem &problem,
                                   const TargetDesc &target) const override;
};

} // namespace kt
