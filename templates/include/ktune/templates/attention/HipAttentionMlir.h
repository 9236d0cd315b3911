// The MLIR flash-attention forward family for AMD Instinct GPUs, lowered
// through the ROCDL dialect for gfx950 and gfx942.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

/// O = softmax(scale * Q K^T + causal mask) V for bf16 / fp16 with head dim
/// 64 or 128, any batch, heads, lengths and layout, written as MLIR (gpu,
/// scf, memref, vector, arith and amdgpu dialects) and specialised to the
/// problem: static shapes, bare pointers (kt_attention(Q, K, V, O,
/// scaleLog2)). Each workgroup owns 16 x `waves` query rows of one (batch,
/// query head); its waves keep Q as MFMA fragments, stage each block of
/// `kv` keys in LDS (K as [key][d], V transposed), and compute the
/// transposed products S^T = K Q^T and O^T += V^T P^T with amdgpu.mfma
/// (16x16x32 on gfx950, 16x16x16 on gfx942), the layout hip.attention.mfma
/// uses. Compiled through MLIR's ROCDL lowering, the AMDGPU backend and
/// ld.lld; nothing of it has run (no AMD GPU here). Parameters
/// (docs/attention.md): waves (1, 2, 4), kv (32, 64).
class HipAttentionMlir final : public AttentionTemplate {
public:
  std::string name() const override { return "hip.attention.mlir"; }
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
