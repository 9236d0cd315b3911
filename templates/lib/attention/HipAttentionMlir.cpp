// hip.attention.mlir: tuning space, legality and instantiation (the MLIR
// text is generated in HipAttentionMlirKernel.cpp).
#include "ktune/templates/attention/HipAttentionMlir.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "HipAttentionMlirKernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "hip.attention.mlir/2";
constexpr const char *kKeys[] = {"waves", "kv"};

int64_t ldsLimit(const std::string &arch) {
  return arch == "gfx950" ? 160 * 1024 : 64 * 1024;
}

/// Compute units of an MI300X / MI355X: split-KV is offered while the tiles
/// alone fill fewer than two workgroups per CU.
constexpr int64_t kCus = 256;

} // namespace

std::string HipAttentionMlir::sourceHash() const {
  const AttentionProblem p = attnparams::hashProblem(64);
  // One instance as tuned for prefill, one split and packed as for decode
  // (the merge and the packed rows), both with lazy rescaling, and both
  // with the next block prefetched.
  return sha256Hex(std::string(kGeneratorVersion) +
                   hipattnmlir::kernelSource({4, 32}, p, "gfx950") +
                   hipattnmlir::kernelSource({1, 32, 4, 1}, p, "gfx950") +
                   hipattnmlir::kernelSource({4, 32, 1, 0, 1}, p, "gfx950") +
                   hipattnmlir::kernelSource({1, 32, 4, 1, 1}, p, "gfx950") +
                   hipattnmlir::kernelSource({4, 32, 1, 0, 0, 2}, p, "gfx950") +
                   hipattnmlir::kernelSource({1, 32, 4, 1, 0, 2}, p, "gfx950"));
}

bool HipAttentionMlir::supports(const AttentionProblem &p,
                                const TargetDesc &t) const {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942") &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128) && p.validate().isOk() &&
         p.qElements() <= INT32_MAX && p.kvElements() <= INT32_MAX;
}

Status HipAttentionMlir::validate(const Config &c, const AttentionProblem &p,
                                  const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64 or 128 (tensors under "
        "2^31 elements) on hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const hipattnmlir::Params q = hipattnmlir::readParams(c);
  if (q.waves != 1 && q.waves != 2 && q.waves != 4) {
    return invalidArgument(fmt::format("waves={} must be 1, 2 or 4", q.waves));
  }
  if (q.kv != 32 && q.kv != 64) {
    return invalidArgument(fmt::format("kv={} must be 32 or 64", q.kv));
  }
  KT_RETURN_IF_ERROR(attnparams::validateSplitPack(p, q.split, q.pack, q.kv));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
  KT_RETURN_IF_ERROR(attnparams::validateStages(q.stages, 1, 2));
  if (hipattnmlir::ldsBytes(q, p.d) > ldsLimit(t.arch)) {
    return invalidArgument(fmt::format(
        "kv={} d={} needs {} bytes of LDS; {} workgroups get at most {}", q.kv,
        p.d, hipattnmlir::ldsBytes(q, p.d), t.arch, ldsLimit(t.arch)));
  }
  return Status::ok();
}

Config HipAttentionMlir::defaultConfig(const AttentionProblem &p,
                                       const TargetDesc &) const {
  // Prefill: four waves over the tile. Decode (the group's rows fit one
  // wave): one wave with the group's heads packed, the KV length split
  // until the workgroups fill the CUs.
  hipattnmlir::Params q{p.sq >= 64 ? 4 : 1, 64};
  if (attnparams::isDecode(p, 16)) {
    q.pack = p.hq > p.hkv ? 1 : 0;
    q.split = attnparams::defaultSplit(p, hipattnmlir::rows(q), q.pack != 0,
                                       q.kv, kCus);
  }
  return {{"waves", q.waves}, {"kv", q.kv},     {"split", q.split},
          {"pack", q.pack},   {"lazy", q.lazy}, {"stages", q.stages}};
}

std::vector<Config> HipAttentionMlir::space(const AttentionProblem &p,
                                            const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(
      defaultConfig(p, t),
      {{"waves", {1, 2, 4}},
       {"kv", {32, 64}},
       {"split", {1, 2, 4, 8, 16, 32}},
       {"pack", {0, 1}},
       {"lazy", {0, 1}},
       {"stages", {1, 2}}},
      [&](const Config &c) {
        if (!validate(c, p, t).isOk()) {
          return false;
        }
        // Prefetching only what registers hold; splits only while the
        // tiles leave CUs idle; tiles no taller than twice the rows.
        const hipattnmlir::Params q = hipattnmlir::readParams(c);
        if (q.stages == 2 &&
            !attnparams::prefetchFits(q.kv, p.d, hipattnmlir::threads(q))) {
          return false;
        }
        return attnparams::splitWorthTrying(p, hipattnmlir::rows(q),
                                            q.pack != 0, q.kv, q.split, kCus) &&
               hipattnmlir::rows(q) <=
                   std::max<int64_t>(16,
                                     2 * attnparams::unitRows(p, q.pack != 0));
      });
}

Result<KernelSource> HipAttentionMlir::instantiate(const Config &c,
                                                   const AttentionProblem &p,
                                                   const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const hipattnmlir::Params q = hipattnmlir::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(hipattnmlir::threads(q));
  launch.sharedBytes = 0; // All static.
  launch.rows = int(hipattnmlir::rows(q));
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
  return KernelSource{"mlir", hipattnmlir::kernelSource(q, p, t.arch),
                      "kt_attention", launch.toString()};
}

} // namespace kt
