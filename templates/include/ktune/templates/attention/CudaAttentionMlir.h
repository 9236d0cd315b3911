// The MLIR flash-attention forward family for NVIDIA GPUs, lowered through
// the NVVM dialect for sm_90a and sm_100a.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

/// O = softmax(scale * Q K^T + causal mask) V for bf16 / fp16 with head dim
/// 64 or 128, any batch, heads, lengths and layout, written as MLIR (gpu,
/// scf, memref, vector, arith and nvvm dialects) and specialised to the
/// problem: static shapes, bare pointers (kt_attention(Q, K, V, O,
/// scaleLog2)). Each CTA owns 16 x `warps` query rows of one (batch, query
/// head); its warps keep Q as m16n8k16 `mma.sync` A fragments, stage each
/// block of `kv` keys in shared memory, compute S = Q K^T, run the online
/// softmax on the accumulators (quad shuffles for the row maxima), repack P
/// as A fragments and accumulate O += P V.
///
/// The portable baseline beside cuda.attention.sm90 / sm100, as
/// cuda.gemm.mlir is for GEMM: one source for both archs through MLIR's
/// NVVM lowering to PTX (in process) and nvJitLink; no TMA, wgmma or
/// tcgen05. Parameters (docs/attention.md): warps (1, 2, 4), kv (16, 32,
/// 64). Static shared memory stays within 48 KiB.
class CudaAttentionMlir final : public AttentionTemplate {
public:
  std::string name() const override { return "cuda.attention.mlir"; }
  std::string sourceHash() const override;
  bool supports(const AttentionProblem &problem,
                const TargetDesc &target) const override;
  std::vector<Config> space(const AttentionProblem &problem,
                            const TargetDesc &target) const override;
  Config defaultConfig(const AttentionProblem &problem,
                       const TargetDesc &target) const override;
  Status validate(const Config &config, const AttentionProblem &problem,
                  const TargetDesc &target) const override;
  Result<KernelSource> instantiate(const Config &config,
                                   const AttentionProblem &problem,
                                   const TargetDesc &target) const override;
};

} // namespace kt
