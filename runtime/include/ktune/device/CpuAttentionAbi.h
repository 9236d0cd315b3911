// The calling convention of CPU attention code objects, shared by the
// compiler (which emits it), the tuner and the runtime lookup.
#pragma once

#include <cstdint>

namespace kt {

/// Computes one block of O = softmax(scale * Q K^T [+ causal mask]) V: the
/// query rows [t * bq, min((t + 1) * bq, sq)) of one (batch, query head),
/// block = (b * hq + h) * tiles + t. Tensors are dense in the problem's
/// layout (AttentionProblem), of the problem's element type (float or
/// bf16 as uint16_t); shapes are compiled in. Every element of O the block
/// covers is written (rows that see no key get 0).
using CpuAttentionBlockFn = void (*)(const void *q, const void *k,
                                     const void *v, void *o, float scale,
                                     int64_t block);
/// Number of blocks; a launch runs each once, in any order or in parallel.
using CpuBlocksFn = int64_t (*)();

inline constexpr const char *kCpuAttentionSymbol = "kt_attention";
inline constexpr const char *kCpuAttentionBlocksSymbol = "kt_attention_blocks";

/// Split-KV code objects (decode problems with fewer blocks than cores)
/// export three more symbols. Their blocks are (tile, split) parts, split
/// fastest: the block function's `o` is then a workspace of
/// kt_attention_workspace() bytes in which each part leaves its rows'
/// softmax states (maximum, sum, unnormalised outputs), and
/// kt_attention_merge(workspace, o, tile), for tile in [0, blocks /
/// splits), combines a tile's parts into O once all have run.
using CpuAttentionMergeFn = void (*)(const void *workspace, void *o,
                                     int64_t tile);
inline constexpr const char *kCpuAttentionSplitsSymbol = "kt_attention_splits";
inline constexpr const char *kCpuAttentionMergeSymbol = "kt_attention_merge";
inline constexpr const char *kCpuAttentionWorkspaceSymbol =
    "kt_attention_workspace";

} // namespace kt
