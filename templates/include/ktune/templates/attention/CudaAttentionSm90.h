// The Hopper (sm_90a) flash-attention forward family, CUDA C++ compiled by
// NVRTC.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

/// O = softmax(scale * Q K^T + causal mask) V for bf16 / fp16 tensors with
/// head dim 64 or 128, any batch, heads (MHA, GQA, MQA), lengths and layout
/// (BSHD or BHSD), f32 accumulation and softmax.
///
/// A CTA owns a tile of `rows` = 64 x cons query rows of one (batch, head)
/// or, with pack=1, of one (batch, KV head) whose rows are the group's
/// query heads at consecutive positions (decode: a KV block is read once for
/// the whole group). Warpgroup 0 is the producer: one thread streams K and
/// V blocks of `kv` rows into a ring of `stages` shared-memory buffers with
/// TMA (128-byte swizzle), K and V on separate full barriers so scores can
/// start before V lands. Each consumer warpgroup owns 64 query rows, loads
/// them into shared memory once, and per KV block issues
/// S = Q K^T as wgmma (m64 x kv x k16, both operands in shared memory),
/// applies the causal / length mask only on blocks that need it, runs the
/// online softmax in registers (exp2, quad shuffles for the row max), turns
/// P into bf16 / fp16 wgmma A fragments in place (the accumulator layout of
/// S is the register-operand layout of the next product) and issues
/// O += P V (m64 x d x k16, V N-major through the transpose bit). With
/// overlap the softmax runs while wgmma products are in flight (the next
/// block's scores, this or the previous block's P V) and K and V stages are
/// freed separately; with pingpong the consumer warpgroups take turns
/// issuing their products.
/// With split > 1 the KV blocks of a tile are divided among `split` CTAs
/// (split-KV, for decode); each writes its unnormalised partial O, row max
/// and row sum to a workspace, and the last to arrive on the tile's
/// semaphore merges them and stores O.
///
/// Parameters (docs/attention.md):
///   kv      KV rows per block: 64, 128 or 192 (the scores wgmma's N)
///   cons    consumer warpgroups, 1..3 (rows = 64 x cons)
///   stages  K/V pipeline depth, 2..4
///   split   KV splits per tile: 1, 2, 4, 8, 16 or 32
///   pack    1: pack the GQA group's query heads into the rows (needs
///           hq > hkv); 0: one query head per tile
///   overlap 0: scores, softmax and P V in turn; 1: the next block's scores
///           issued before this block's softmax, into a second score
///           accumulator; 2: the next block's scores and this block's P V
///           issued back to back, the next softmax under P V
///   pingpong 1: consumer warpgroups take turns issuing their products
///           (overlap 2, cons >= 2); 0: they issue freely
/// overlap and pingpong may be absent (stored before they existed): 0.
/// validate() rejects configurations over the 227 KiB of shared memory a
/// block may use on sm_90a or over the registers a consumer thread has.
class CudaAttentionSm90 final : public AttentionTemplate {
public:
  std::string name() const override { return "cuda.attention.sm90"; }
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
