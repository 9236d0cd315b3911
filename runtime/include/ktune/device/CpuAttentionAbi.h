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

} // namespace kt
