// The Hopper (sm_90a) tensor-core GEMM family, CUDA C++ compiled by NVRTC.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// C = alpha * op(A) op(B) + beta * C for bf16 / fp16 inputs and outputs with
/// f32 accumulation, any layout and any M, N, K (lda and ldb multiples of 8).
///
/// One persistent CTA per SM walks the output tiles. Warpgroup 0 is the
/// producer: one thread streams A and B tiles (K in steps of 64) into a ring
/// of `stages` shared-memory buffers with TMA (128-byte swizzle), each
/// guarded by a full/empty mbarrier pair. The `cons` consumer warpgroups
/// each own bm / cons rows of the tile and issue wgmma.mma_async
/// (m64 x bn x k16) straight from shared memory, keeping one wgmma group in
/// flight, then apply alpha/beta and store. Operands stored MN-major (A for
/// TN/TT, B for NN/TN) use wgmma's transpose bits, so no layout needs a copy.
///
/// Parameters (docs/cuda-gemm.md):
///   bm      CTA tile rows: 64, 128 or 256 (a multiple of 64 * cons)
///   bn      CTA tile columns: 64, 128, 192 or 256 (the wgmma N)
///   stages  shared-memory pipeline depth, 2..8
///   cons    consumer warpgroups, 1 or 2
///   group   tile order: tiles are visited in bands of `group` tile rows
///           (1 = row by row), for L2 reuse of B
///   splitk  K slices per tile, 1, 2, 4 or 8 (default 1): for skinny
///           problems whose tiles alone would leave SMs idle; the slices'
///           f32 partials meet in a workspace and the last one stores
///   cluster CTAs per thread-block cluster, 1 or 2 (default 1): a pair of
///           CTAs works on vertically adjacent tiles, which share their B
///           tile; each loads half of it, multicast to both by TMA
/// validate() rejects configurations over the 227 KiB of shared memory a
/// block may use on sm_90a or over 128 accumulator registers per thread.
class CudaGemmSm90 final : public GemmTemplate {
public:
  std::string name() const override { return "cuda.gemm.sm90"; }
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

  /// Dynamic shared memory a configuration needs (bytes).
  static int64_t sharedBytes(const Config &config);
};

} // namespace kt
