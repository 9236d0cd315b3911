// The AMD Instinct flash-attention forward family: HIP C++ with MFMA, for
// gfx950 (MI355X) and gfx942 (MI300X).
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

/// O = softmax(scale * Q K^T + causal mask) V for bf16 / fp16 with head
/// dim 64, 128 or 256, any batch, heads (MHA, GQA, MQA), lengths and layout
/// (BSHD or BHSD), f32 accumulation and softmax.
///
/// A workgroup of `waves` wave64s owns 16 x mi query rows per wave of one
/// (batch, head), or with pack=1 of one (batch, KV head) whose rows are the
/// GQA group's query heads. Its waves keep their Q fragments in registers
/// and walk the KV blocks of `kv` keys staged in LDS (K as [key][d], V
/// transposed as [d][key]; `stages` = 2 loads the next block while this
/// one is used). Scores are computed transposed, S^T = K Q^T, with
/// v_mfma_f32_16x16x32 (gfx950) or 16x16x16 (gfx942), so every accumulator
/// a lane holds belongs to one query: the online softmax needs two
/// cross-lane maxima per block, and the scores' accumulator layout is
/// already P's operand layout for O^T += V^T P^T. split > 1 divides the KV
/// blocks among workgroups (split-KV, for decode), merged by the last to
/// arrive on the tile's semaphore.
///
/// Kernel: kt_attention(Q, K, V, O, B, Hq, Hkv, Sq, Skv, scaleLog2,
/// workspace, semaphores), one workgroup per (query tile, batch, head unit,
/// split); the launch description is cuda::AttentionLaunchSpec's text. No
/// ROCm headers (clang builtins only). Nothing of it has run: no AMD GPU is
/// reachable here.
///
/// Parameters (docs/attention.md): waves (1, 2, 4, 8), mi (1, 2), kv (32,
/// 64, 128), stages (1, 2), split (1..32, powers of two), pack (0, 1), lazy
/// (0, 1: FlashAttention-4's lazy rescaling, O and the running sums
/// rescaled only when some query of the wave outgrows its stale maximum by
/// more than 8 in log2 units; absent reads as 0).
/// validate() uses the chips' limits: LDS 160 KiB per workgroup on gfx950,
/// 64 KiB on gfx942, and live registers within the 512 VGPRs + AGPRs of a
/// lane.
class HipAttentionMfma final : public AttentionTemplate {
public:
  std::string name() const override { return "hip.attention.mfma"; }
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

  /// LDS a configuration uses for head dim `d` (bytes).
  static int64_t ldsBytes(const Config &config, int64_t d);
};

} // namespace kt
