// cuda.attention.sm100: tuning space, legality and instantiation (the
// kernel text is in CudaAttentionSm100Kernel.cpp).
#include "ktune/templates/attention/CudaAttentionSm100.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "CudaAttentionSm100Kernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.attention.sm100/2";

/// Dynamic shared memory a block may opt in to on sm_100 (227 KiB).
constexpr int64_t kSharedPerBlock = 232448;
/// Tensor-memory columns of an SM.
constexpr int64_t kTmemColumns = 512;
/// SMs of a B200: split-KV is offered while the tiles alone fill fewer than
/// this many CTAs twice over.
constexpr int64_t kSms = 148;

constexpr const char *kKeys[] = {"kv", "stages", "split", "pack", "lazy"};

} // namespace

std::string CudaAttentionSm100::sourceHash() const {
  const AttentionProblem p = attnparams::hashProblem(128);
  return sha256Hex(std::string(kGeneratorVersion) +
                   attn100::kernelSource({128, 2, 2, 1, 1}, p));
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
  KT_RETURN_IF_ERROR(attnparams::validateStages(q.stages, 2, 4));
  KT_RETURN_IF_ERROR(attnparams::validateSplitPack(p, q.split, q.pack, q.kv));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
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
  const bool decode = attnparams::isDecode(p, 64);
  attn100::Params q{128, 3, 1, decode && p.hq > p.hkv ? 1 : 0};
  while (attn100::sharedBytes(q, p.d) > kSharedPerBlock && q.stages > 2) {
    --q.stages;
  }
  if (attn100::sharedBytes(q, p.d) > kSharedPerBlock) {
    q.kv = 64;
  }
  if (decode) {
    q.split = attnparams::defaultSplit(p, attn100::kRows, q.pack, q.kv, kSms);
  }
  return {{"kv", q.kv},
          {"stages", q.stages},
          {"split", q.split},
          {"pack", q.pack},
          {"lazy", q.lazy}};
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
                         {"pack", {0, 1}},
                         {"lazy", {1, 0}}},
                        [&](const Config &c) {
                          if (!validate(c, p, t).isOk()) {
                            return false;
                          }
                          const attn100::Params q = attn100::readParams(c);
                          return attnparams::splitWorthTrying(
                              p, attn100::kRows, q.pack, q.kv, q.split, kSms);
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
  // The split-KV scratch rule (cuda::attentionWorkspaceBytes) gives each
  // semaphore 64 rows x (d + 8) floats: two for a tile of 128 rows. The
  // kernel counts arrivals on the first and leaves the second zero.
  launch.semaphoresPerTile = int(attn100::kRows / 64);
  return KernelSource{"cuda", attn100::kernelSource(q, p), "kt_attention",
                      launch.toString()};
}

} // namespace kt
