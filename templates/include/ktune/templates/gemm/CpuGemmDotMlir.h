// The CPU dot-product GEMM family for NT problems (A M x K, B N x K, both
// contiguous along K), written in MLIR like cpu.gemm.mlir.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// C[m, n] = sum_k A[m, k] * B[n, k] without copying B: K is split into
/// vectors of vw lanes, each register tile keeps mr x nr vector partial sums
/// (acc[m, n, lane]) while streaming mr rows of A and nr rows of B, and the
/// lanes are summed once at the end. This is the shape of decode-time LLM
/// GEMMs (small M, weights stored N x K), where cpu.gemm.mlir must transpose
/// B.
///
/// Parameters (see docs/cpu-gemm.md):
///   mc, nc  block of C per call (multiples of mr, nr)
///   kc      K chunk (a multiple of vw dividing K) swept by a block's tiles
///   mr, nr  register tile: mr rows of A x nr rows of B
///   vw      lanes per vector along K (8 = AVX2, 16 = AVX-512)
///   ku      unroll of the innermost K loop
///   order   0: register tiles swept M-outer, 1: N-outer
/// Applies to NT problems whose K is a multiple of vw.
class CpuGemmDotMlir final : public GemmTemplate {
public:
  std::string name() const override { return "cpu.gemm.dot.mlir"; }
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
