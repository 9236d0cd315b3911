// The Blackwell (sm_100a) tensor-core GEMM family, CUDA C++ compiled by
// NVRTC.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// C = alpha * op(A) op(B) + beta * C for bf16 / fp16 inputs and outputs with
/// f32 accumulation, any layout and any M, N, K (lda and ldb multiples of 8).
///
/// One persistent CTA per SM of 6 warps walks 128 x bn output tiles. Warp 0
/// streams A and B (K in steps of 64) into a ring of `stages` buffers with
/// TMA (128-byte swizzle); one thread of warp 1 issues tcgen05.mma
/// (M = 128, N = bn, K = 16) from shared memory into tensor memory and
/// tcgen05.commit frees each stage when its MMAs complete; warps 2-5 read the
/// finished accumulator out of tensor memory (tcgen05.ld), apply alpha/beta
/// and store. With acc = 2 the MMAs of the next tile run while the epilogue
/// drains the previous one.
///
/// Parameters (docs/cuda-gemm.md):
///   bn      tile columns: 64, 128 or 256 (the MMA's N)
///   stages  shared-memory pipeline depth, 2..8
///   acc     accumulators in tensor memory, 1 or 2 (acc x bn <= 512 columns)
///   group   tile order: bands of `group` tile rows
///   splitk  K slices per tile, 1, 2, 4 or 8 (default 1): for skinny
///           problems; the slices' partials meet in a workspace and the last
///           one stores
///   cluster CTAs per thread-block cluster, 1 or 2 (default 1): a pair of
///           CTAs works on vertically adjacent tiles, which share their B
///           tile; each loads half of it, multicast to both by TMA, issues
///           its own MMAs, and releases a stage in both CTAs with a
///           multicast tcgen05.commit
/// validate() rejects configurations over 227 KiB of shared memory or 512
/// tensor-memory columns.
///
/// This family has been compiled for sm_100a and inspected (PTX, ptxas
/// resources) but never run: no sm_100 GPU was available.
class CudaGemmSm100 final : public GemmTemplate {
public:
  std::string name() const override { return "cuda.gemm.sm100"; }
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

  static int64_t sharedBytes(const Config &config);
};

} // namespace kt
