// The MLIR tensor-core GEMM family for NVIDIA GPUs, lowered through the NVVM
// dialect for sm_90a and sm_100a.
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// C = alpha * op(A) op(B) + beta * C for bf16 / fp16 with f32
/// accumulation, any layout and size, written as MLIR (gpu, scf, memref,
/// vector and nvvm dialects) and specialised to the problem: static shapes,
/// so the kernel takes bare pointers. Each CTA computes a bm x bn tile; its
/// warps each own a wm x wn tile of m16n8k16 `mma.sync` tensor-core
/// operations. K advances bk at a time through shared memory (A and B tiles
/// K-contiguous whatever the layout, zero-filled outside the problem).
///
/// The second CUDA family beside the hand-written ones: one source for both
/// archs, through MLIR's NVVM lowering to PTX (in process) and nvJitLink to
/// a cubin. It uses the sm_80-era mma.sync, not wgmma or tcgen05, so it is
/// a portable baseline rather than a peak kernel.
///
/// Parameters (docs/cuda-gemm.md): bm, bn (CTA tile: 32..256), wm, wn
/// (warp tile: multiples of 16 and 8 dividing bm and bn), bk (16, 32, 64).
/// validate() keeps the static shared memory within 48 KiB, the block
/// within 1024 threads and the accumulators within 128 per thread.
class CudaGemmMlir final : public GemmTemplate {
public:
  std::string name() const override { return "cuda.gemm.mlir"; }
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
