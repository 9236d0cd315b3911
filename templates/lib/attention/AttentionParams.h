// Internal: what the GPU attention families share in their tuning spaces
// and legality checks: the work decomposition into query tiles and KV
// blocks, the split-KV and GQA-packing parameters, the split a decode
// problem starts from, and the checks of 0 / 1 parameters (for every
// family, the CPU's too: lazy) and of `stages`.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/AttentionProblem.h"

#include <fmt/format.h>

#include <cstdint>

namespace kt::attnparams {

/// The problem a GPU family's sourceHash() instantiates: bf16, GQA 4:1,
/// 256 x 256 causal, head dim `d`.
inline AttentionProblem hashProblem(int64_t d) {
  AttentionProblem p;
  p.dtype = DType::BF16;
  p.hq = 8;
  p.hkv = 2;
  p.sq = p.skv = 256;
  p.d = d;
  p.causal = true;
  return p;
}

/// Blocks of `kv` keys the longest tile walks.
inline int64_t kvBlocks(const AttentionProblem &p, int64_t kv) {
  return (p.skv + kv - 1) / kv;
}

/// Query rows of one head unit: with `pack`, the group's query heads at
/// every position.
inline int64_t unitRows(const AttentionProblem &p, bool pack) {
  return p.sq * (pack ? p.hq / p.hkv : 1);
}

/// Query tiles of `rows` rows over every (batch, head unit).
inline int64_t tileCount(const AttentionProblem &p, int64_t rows, bool pack) {
  return p.queryTiles(rows, pack ? p.hq / p.hkv : 1);
}

/// A decode problem: the group's rows fit in one tile of `rows`.
inline bool isDecode(const AttentionProblem &p, int64_t rows) {
  return unitRows(p, p.hq > p.hkv) <= rows;
}

/// A parameter that is off or on (pack, pingpong, persist, and lazy, the
/// softmax numerics variant of every attention family): 0 or 1.
inline Status validateFlag(const char *name, int64_t value) {
  if (value != 0 && value != 1) {
    return invalidArgument(fmt::format("{}={} must be 0 or 1", name, value));
  }
  return Status::ok();
}

/// stages: lo..hi ("must be 1 or 2" where those are the only two).
inline Status validateStages(int64_t stages, int64_t lo, int64_t hi) {
  if (stages < lo || stages > hi) {
    return invalidArgument(
        hi == lo + 1 ? fmt::format("stages={} must be {} or {}", stages, lo, hi)
                     : fmt::format("stages={} must be {}..{}", stages, lo, hi));
  }
  return Status::ok();
}

/// split: a power of two up to 32, at most one per KV block of `kv`; pack:
/// 0 or 1, 1 only with GQA / MQA.
inline Status validateSplitPack(const AttentionProblem &p, int64_t split,
                                int64_t pack, int64_t kv) {
  if (split < 1 || split > 32 || (split & (split - 1)) != 0) {
    return invalidArgument(
        fmt::format("split={} must be a power of two up to 32", split));
  }
  if (split > kvBlocks(p, kv)) {
    return invalidArgument(
        fmt::format("split={} exceeds the {} KV blocks of {} that skv={} has",
                    split, kvBlocks(p, kv), kv, p.skv));
  }
  KT_RETURN_IF_ERROR(validateFlag("pack", pack));
  if (pack == 1 && p.hq == p.hkv) {
    return invalidArgument(fmt::format(
        "pack=1 packs a GQA group's query heads; {} has one query head per "
        "KV head",
        p.key()));
  }
  return Status::ok();
}

/// The split a decode problem starts from: doubled while the CTAs fill at
/// most half of `units` (SMs or CUs) and each split keeps two KV blocks.
inline int64_t defaultSplit(const AttentionProblem &p, int64_t rows, bool pack,
                            int64_t kv, int64_t units) {
  int64_t split = 1;
  while (split < 32 && tileCount(p, rows, pack) * split * 2 <= units &&
         kvBlocks(p, kv) / (split * 2) >= 2) {
    split *= 2;
  }
  return split;
}

/// Whether the space offers `split`: 1 always; more only while the CTAs
/// stay within two waves of `units` and each split keeps two KV blocks.
inline bool splitWorthTrying(const AttentionProblem &p, int64_t rows, bool pack,
                             int64_t kv, int64_t split, int64_t units) {
  return split == 1 || (tileCount(p, rows, pack) * split <= 2 * units &&
                        kvBlocks(p, kv) / split >= 2);
}

/// Whether the MLIR GPU forms' spaces offer stages=2 (the next KV block
/// held in registers during the compute): while a thread holds at most 8
/// 16-byte chunks each of K and V (kv * d / 8 / threads). At 16 the sm_90a
/// kernels of one warp reach 255 registers and some spill (d 128: kv 32
/// prefill 48 bytes, kv 64 decode ~1 KB).
inline bool prefetchFits(int64_t kv, int64_t d, int64_t threads) {
  return kv * d / 8 <= 8 * threads;
}

} // namespace kt::attnparams
