// cuda.attention.mlir: tuning space, legality and instantiation (the MLIR
// text is generated in CudaAttentionMlirKernel.cpp).
#include "ktune/templates/attention/CudaAttentionMlir.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "CudaAttentionMlirKernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.attention.mlir/2";
constexpr const char *kKeys[] = {"warps", "kv"};
/// Static shared memory without opting in.
constexpr int64_t kStaticShared = 48 * 1024;
/// SMs of an H100 SXM: split-KV is offered while the tiles alone fill
/// fewer than this many CTAs twice over.
constexpr int64_t kSms = 132;

} // namespace

std::string CudaAttentionMlir::sourceHash() const {
  const AttentionProblem p = attnparams::hashProblem(64);
  // One instance as tuned for prefill, one split and packed as for decode
  // (the merge and the packed rows), both with lazy rescaling, both with
  // the next block prefetched (through registers and with cp.async), and
  // both with ldmatrix fragment reads.
  return sha256Hex(
      std::string(kGeneratorVersion) +
      attnmlir::kernelSource({4, 32}, p, "sm_90a") +
      attnmlir::kernelSource({1, 32, 4, 1}, p, "sm_90a") +
      attnmlir::kernelSource({4, 32, 1, 0, 1}, p, "sm_90a") +
      attnmlir::kernelSource({1, 32, 4, 1, 1}, p, "sm_90a") +
      attnmlir::kernelSource({4, 32, 1, 0, 0, 2}, p, "sm_90a") +
      attnmlir::kernelSource({1, 32, 4, 1, 0, 2}, p, "sm_90a") +
      attnmlir::kernelSource({4, 32, 1, 0, 0, 1, 1}, p, "sm_90a") +
      attnmlir::kernelSource({1, 32, 4, 1, 0, 2, 1}, p, "sm_90a") +
      attnmlir::kernelSource({4, 32, 1, 0, 0, 2, 1, 1}, p, "sm_90a") +
      attnmlir::kernelSource({1, 32, 4, 1, 1, 2, 0, 1}, p, "sm_90a"));
}

bool CudaAttentionMlir::supports(const AttentionProblem &p,
                                 const TargetDesc &t) const {
  return t.kind == TargetKind::Cuda &&
         (t.arch == "sm_90a" || t.arch == "sm_100a") &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128) && p.validate().isOk() &&
         p.qElements() <= INT32_MAX && p.kvElements() <= INT32_MAX;
}

Status CudaAttentionMlir::validate(const Config &c, const AttentionProblem &p,
                                   const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64 or 128 (tensors under "
        "2^31 elements) on cuda:sm_90a and cuda:sm_100a (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const attnmlir::Params q = attnmlir::readParams(c);
  if (q.warps != 1 && q.warps != 2 && q.warps != 4) {
    return invalidArgument(fmt::format("warps={} must be 1, 2 or 4", q.warps));
  }
  if (q.kv != 16 && q.kv != 32 && q.kv != 64) {
    return invalidArgument(fmt::format("kv={} must be 16, 32 or 64", q.kv));
  }
  KT_RETURN_IF_ERROR(attnparams::validateSplitPack(p, q.split, q.pack, q.kv));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
  KT_RETURN_IF_ERROR(attnparams::validateStages(q.stages, 1, 2));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("ldsm", q.ldsm));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("async", q.async));
  if (q.async && q.stages != 2) {
    return invalidArgument(fmt::format(
        "async=1 copies the next block with cp.async while the current one "
        "is computed: it needs stages=2 (got stages={})",
        q.stages));
  }
  if (attnmlir::sharedBytes(q, p.d) > kStaticShared) {
    return invalidArgument(fmt::format(
        "kv={} d={}{} needs {} bytes of static shared memory; at most {}", q.kv,
        p.d, q.async ? " with async=1 (two buffers)" : "",
        attnmlir::sharedBytes(q, p.d), kStaticShared));
  }
  return Status::ok();
}

Config CudaAttentionMlir::defaultConfig(const AttentionProblem &p,
                                        const TargetDesc &) const {
  // Prefill: four warps over the tile. Decode (the group's rows fit one
  // warp): one warp with the group's heads packed, the KV length split
  // until the CTAs fill the SMs.
  attnmlir::Params q{p.sq >= 64 ? 4 : 1, p.d <= 64 ? 64 : 32};
  if (attnparams::isDecode(p, 16)) {
    q.pack = p.hq > p.hkv ? 1 : 0;
    q.split =
        attnparams::defaultSplit(p, attnmlir::rows(q), q.pack != 0, q.kv, kSms);
  }
  return {{"warps", q.warps}, {"kv", q.kv},      {"split", q.split},
          {"pack", q.pack},   {"lazy", q.lazy},  {"stages", q.stages},
          {"ldsm", q.ldsm},   {"async", q.async}};
}

std::vector<Config> CudaAttentionMlir::space(const AttentionProblem &p,
                                             const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(
      defaultConfig(p, t),
      {{"warps", {1, 2, 4}},
       {"kv", {16, 32, 64}},
       {"split", {1, 2, 4, 8, 16, 32}},
       {"pack", {0, 1}},
       {"lazy", {0, 1}},
       {"stages", {1, 2}},
       {"ldsm", {0, 1}},
       {"async", {0, 1}}},
      [&](const Config &c) {
        if (!validate(c, p, t).isOk()) {
          return false;
        }
        // Prefetching through registers only what they hold (cp.async
        // only what shared memory holds: validate()); splits only while the
        // tiles leave SMs idle; tiles no taller than twice the rows.
        const attnmlir::Params q = attnmlir::readParams(c);
        if (q.stages == 2 && !q.async &&
            !attnparams::prefetchFits(q.kv, p.d, attnmlir::threads(q))) {
          return false;
        }
        return attnparams::splitWorthTrying(p, attnmlir::rows(q), q.pack != 0,
                                            q.kv, q.split, kSms) &&
               attnmlir::rows(q) <=
                   std::max<int64_t>(16,
                                     2 * attnparams::unitRows(p, q.pack != 0));
      });
}

Result<KernelSource> CudaAttentionMlir::instantiate(const Config &c,
                                                    const AttentionProblem &p,
                                                    const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const attnmlir::Params q = attnmlir::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(attnmlir::threads(q));
  launch.sharedBytes = 0; // All static.
  launch.rows = int(attnmlir::rows(q));
  launch.kvRows = int(q.kv);
  launch.split = int(q.split);
  launch.pack = int(q.pack ? p.hq / p.hkv : 1);
  // One semaphore per tile: a split CTA stores at most 128 x (d / 2 + 4)
  // = 64 x (d + 8) floats (CUDA: per thread d / 2 outputs, two maxima and
  // two sums; HIP: per lane d / 4 outputs, a maximum and a sum, at most 256
  // lanes), what the scratch rule (cuda::attentionWorkspaceBytes) gives a
  // semaphore.
  launch.semaphoresPerTile = 1;
  launch.pointers = true;
  return KernelSource{"mlir", attnmlir::kernelSource(q, p, t.arch),
                      "kt_attention", launch.toString()};
}

} // namespace kt
