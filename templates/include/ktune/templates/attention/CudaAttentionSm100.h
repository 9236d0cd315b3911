// The Blackwell (sm_100a) flash-attention forward family, CUDA C++ compiled
// by NVRTC.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

/// O = softmax(scale * Q K^T + causal mask) V for bf16 / fp16 tensors with
/// head dim 64, 128 or 256, any batch, heads, lengths and layout, f32
/// accumulation and softmax; the same problems, launch description and
/// kernel signature as cuda.attention.sm90.
///
/// A CTA owns 128 query rows (one tcgen05 MMA's M; with pack=1 the GQA
/// group's heads at consecutive positions). Warp 0 streams K and V blocks
/// of `kv` rows into a ring of `stages` buffers with TMA; warp 1 allocates
/// tensor memory and issues S = Q K^T (both operands in shared memory, S
/// into tensor memory) and O += P V (P read from tensor memory, V N-major
/// in shared memory, O accumulating in tensor memory); warps 2-5 hold one
/// query row per thread: they load Q, read their row of S, apply the masks
/// and the online softmax without any cross-thread reduction, write P as
/// 16-bit pairs into tensor memory, rescale O there when a row's maximum
/// rose, and store O / l at the end. split > 1 divides the KV blocks among
/// CTAs as on sm_90a.
///
/// Parameters (docs/attention.md): kv (64, 128), stages (2..4), split (1..32,
/// powers of two), pack (0, 1), lazy (the softmax numerics variant: 1 keeps
/// a row's stale maximum until it is outgrown by more than a factor 2^8, so
/// O in tensor memory is rescaled rarely; exact after the final O / l; 0
/// rescales whenever a maximum rises). validate() checks the 227 KiB of shared
/// memory and the 512 tensor-memory columns (kv + kv / 2 + d). Nothing of
/// it has run: no sm_100a GPU is reachable here.
class CudaAttentionSm100 final : public AttentionTemplate {
public:
  std::string name() const override { return "cuda.attention.sm100"; }
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

  /// Dynamic shared memory a configuration needs for head dim `d` (bytes).
  static int64_t sharedBytes(const Config &config, int64_t d);
};

} // namespace kt
