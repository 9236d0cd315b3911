// cuda.attention.sm100: tuning space, legality and instantiation (the
// kernel text is in CudaAttentionSm100Kernel.cpp).
#include "ktune/templates/attention/CudaAttentionSm100.h"

#include "../gemm/TemplateParams.h"
#include "CudaAttentionSm100Kernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.attention.sm100/1";

/// Dynamic shared memory a block may opt in to on sm_100 (227 KiB).
constexpr int64_t kSharedPerBlock = 232448;
/// Tensor-memory columns of an SM.
constexpr int64_t kTmemColumns = 512;
/// SMs of a B200: split-KV is offered while the tiles alone fill fewer than
/// this many CTAs twice over.
constexpr int64_t kSms = 148;

constexpr const char *kKeys[] = {"kv", "stages", "split", "pack"};

int64_t tileCount(const AttentionProblem &p, const attn100::Params &q) {
  const int64_t pack = q.pack ? p.hq / p.hkv : 1;
  const int64_t hUnits = q.pack ? p.hkv : p.hq;
  return ((p.sq * pack + attn100::kRows - 1) / attn100::kRows) * hUnits *
         p.batch;
}

int64_t kvBlocks(const AttentionProblem &p, int64_t kv) {
  return (p.skv + kv - 1) / kv;
}

} // namespace

std::string CudaAttentionSm100::sourceHash() const {
  AttentionProblem p;
  p.dtype = DType::BF16;
  p.hq = 8;
  p.hkv = 2;
  p.sq = p.skv = 256;
  p.d = 128;
  p.causal = true;
  return sha256Hex(std::string(kGeneratorVersion) +
                   attn100::kernelSource({128, 2, 2, 1}, p));
}

int64_t CudaAttentionSm100::sharedBytes(const Config &c, int64_t d) {
  return attn100::sharedBytes(attn100::readParams(c), d);
}

bool CudaAttentionSm100::supports(const AttentionProblem &p,
                                  const TargetDesc &t) const {
  return t.kind == TargetKind::Cuda && t.arch == "sm_100a" &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128 || p.d == 256) && p.validate().isOk() &&
         p.batch * std::max(p.sq, p.skv) * p.hq * p.d <= INT32_MAX;
}

Status CudaAttentionSm100::validate(const Config &c, const AttentionProblem &p,
                                    const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64, 128 or 256 (tensors "
        "under 2^31 elements) on cuda:sm_100a only (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const attn100::Params q = attn100::readParams(c);
  if (q.kv != 64 && q.kv != 128) {
    return invalidArgument(fmt::format("kv={} must be 64 or 128", q.kv));
  }
  if (q.stages < 2 || q.stages > 4) {
    return invalidArgument(fmt::format("stages={} must be 2..4", q.stages));
  }
  if (q.split < 1 || q.split > 32 || (q.split & (q.split - 1)) != 0) {
    return invalidArgument(
        fmt::format("split={} must be a power of two up to 32", q.split));
  }
  if (q.split > kvBlocks(p, q.kv)) {
    return invalidArgument(
        fmt::format("split={} exceeds the {} KV blocks of {} that skv={} has",
                    q.split, kvBlocks(p, q.kv), q.kv, p.skv));
  }
  if (q.pack != 0 && q.pack != 1) {
    return invalidArgument(fmt::format("pack={} must be 0 or 1", q.pack));
  }
  if (q.pack == 1 && p.hq == p.hkv) {
    return invalidArgument(fmt::format(
        "pack=1 packs a GQA group's query heads; {} has one query head per "
        "KV head",
        p.key()));
  }
  if (attn100::tmemColumns(q, p.d) > kTmemColumns) {
    return invalidArgument(
        fmt::format("kv={} d={} needs {} tensor-memory columns; an SM has {}",
                    q.kv, p.d, attn100::tmemColumns(q, p.d), kTmemColumns));
  }
  const int64_t smem = attn100::sharedBytes(q, p.d);
  if (smem > kSharedPerBlock) {
    return invalidArgument(fmt::format(
        "kv={} stages={} d={} needs {} bytes of shared memory; sm_100a "
        "blocks get at most {}",
        q.kv, q.stages, p.d, smem, kSharedPerBlock));
  }
  return Status::ok();
}

Config CudaAttentionSm100::defaultConfig(const AttentionProblem &p,
                                         const TargetDesc &) const {
  const bool gqa = p.hq > p.hkv;
  const bool decode = p.sq * (gqa ? p.hq / p.hkv : 1) <= 64;
  attn100::Params q{128, 3, 1, decode && gqa ? 1 : 0};
  while (attn100::sharedBytes(q, p.d) > kSharedPerBlock && q.stages > 2) {
    --q.stages;
  }
  if (attn100::sharedBytes(q, p.d) > kSharedPerBlock) {
    q.kv = 64;
  }
  if (decode) {
    while (q.split < 32 && tileCount(p, q) * q.split * 2 <= kSms &&
           kvBlocks(p, q.kv) / (q.split * 2) >= 2) {
      q.split *= 2;
    }
  }
  return {
      {"kv", q.kv}, {"stages", q.stages}, {"split", q.split}, {"pack", q.pack}};
}

std::vector<Config> CudaAttentionSm100::space(const AttentionProblem &p,
                                              const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(defaultConfig(p, t),
                        {{"kv", {64, 128}},
                         {"stages", {2, 3, 4}},
                         {"split", {1, 2, 4, 8, 16, 32}},
                         {"pack", {0, 1}}},
                        [&](const Config &c) {
                          if (!validate(c, p, t).isOk()) {
                            return false;
                          }
                          const attn100::Params q = attn100::readParams(c);
                          return q.split == 1 ||
                                 (tileCount(p, q) * q.split <= 2 * kSms &&
                                  kvBlocks(p, q.kv) / q.split >= 2);
                        });
}

Result<KernelSource>
CudaAttentionSm100::instantiate(const Config &c, const AttentionProblem &p,
                                const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const attn100::Params q = attn100::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(attn100::kThreads);
  launch.sharedBytes = int(attn100::sharedBytes(q, p.d));
  launch.rows = int(attn100::kRows);
  launch.kvRows = int(q.kv);
  launch.split = int(q.split);
  launch.pack = int(q.pack ? p.hq / p.hkv : 1);
  launch.semaphoresPerTile = 1;
  return KernelSource{"cuda", attn100::kernelSource(q, p), "kt_attention",
                      launch.toString()};
}

} // namespace kt
