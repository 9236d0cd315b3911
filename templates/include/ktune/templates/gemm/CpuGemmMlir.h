// The CPU GEMM family written in MLIR: a linalg payload and a
// transform-dialect schedule whose parameters are the tuning space.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// Parameters (see docs/cpu-gemm.md):
///   mc, nc  block (cache tile) of C computed by one call; the launch grid is
///           ceil(M/mc) x ceil(N/nc), run by the CPU thread pool
///   kc      K chunk kept hot while a block's register tiles are swept
///   mr      register tile rows; nv x vw register tile columns (vw lanes per
///           vector, 8 = AVX2 ymm, 16 = AVX-512 zmm)
///   ku      unroll factor of the innermost K loop
///   order   0: register tiles swept M-outer, 1: N-outer
///   pack    1: copy A's block into a K-major panel when A is not transposed
///           (a transposed B is always copied into a K-major panel: the
///           micro-kernel needs contiguous rows of B along N)
class CpuGemmMlir final : public GemmTemplate {
public:
  std::string name() const override { return "cpu.gemm.mlir"; }
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
