// hip.attention.mfma: tuning space, legality and instantiation (the kernel
// text is in HipAttentionMfmaKernel.cpp).
#include "ktune/templates/attention/HipAttentionMfma.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "HipAttentionMfmaKernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way. Version 3 added `lazy`;
// the text of lazy=0 (and of configurations without the key) is unchanged.
constexpr const char *kGeneratorVersion = "hip.attention.mfma/3";

/// LDS per workgroup: 160 KiB on gfx950, 64 KiB on gfx942.
int64_t ldsLimit(const std::string &arch) {
  return arch == "gfx950" ? 160 * 1024 : 64 * 1024;
}
/// VGPRs + AGPRs a lane may hold live, leaving room for addresses and the
/// softmax temporaries.
constexpr int64_t kMaxLiveRegisters = 400;
/// Compute units of an MI300X / MI355X: split-KV is offered while the tiles
/// alone fill fewer than two workgroups per CU.
constexpr int64_t kCus = 256;

constexpr const char *kKeys[] = {"waves",  "mi",    "kv",
                                 "stages", "split", "pack"};

bool served(const TargetDesc &t) {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942");
}

} // namespace

int64_t HipAttentionMfma::ldsBytes(const Config &c, int64_t d) {
  return attnmfma::ldsBytes(attnmfma::readParams(c), d);
}

std::string HipAttentionMfma::sourceHash() const {
  // The generator version plus one instance per softmax variant covers the
  // body.
  const AttentionProblem p = attnparams::hashProblem(128);
  std::string text = kGeneratorVersion;
  for (int64_t lazy : {0, 1}) {
    text += attnmfma::kernelSource({4, 1, 64, 2, 2, 1, lazy}, p, "gfx950");
  }
  return sha256Hex(text);
}

bool HipAttentionMfma::supports(const AttentionProblem &p,
                                const TargetDesc &t) const {
  return served(t) && (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128 || p.d == 256) && p.validate().isOk() &&
         p.batch * std::max(p.sq, p.skv) * p.hq * p.d <= INT32_MAX;
}

Status HipAttentionMfma::validate(const Config &c, const AttentionProblem &p,
                                  const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64, 128 or 256 (tensors "
        "under 2^31 elements) on hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const attnmfma::Params q = attnmfma::readParams(c);
  if (q.waves != 1 && q.waves != 2 && q.waves != 4 && q.waves != 8) {
    return invalidArgument(
        fmt::format("waves={} must be 1, 2, 4 or 8", q.waves));
  }
  if (q.mi != 1 && q.mi != 2) {
    return invalidArgument(fmt::format("mi={} must be 1 or 2", q.mi));
  }
  if (q.kv != 32 && q.kv != 64 && q.kv != 128) {
    return invalidArgument(fmt::format("kv={} must be 32, 64 or 128", q.kv));
  }
  KT_RETURN_IF_ERROR(attnparams::validateStages(q.stages, 1, 2));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
  KT_RETURN_IF_ERROR(attnparams::validateSplitPack(p, q.split, q.pack, q.kv));
  const int64_t regs = attnmfma::liveRegisters(q, p.d);
  if (regs > kMaxLiveRegisters) {
    return invalidArgument(fmt::format(
        "mi={} kv={} d={} keeps {} registers per lane live; at most {} "
        "leave room in the 512 VGPRs + AGPRs",
        q.mi, q.kv, p.d, regs, kMaxLiveRegisters));
  }
  const int64_t lds = attnmfma::ldsBytes(q, p.d);
  if (lds > ldsLimit(t.arch)) {
    return invalidArgument(fmt::format(
        "kv={} stages={} d={} needs {} bytes of LDS; {} workgroups get at "
        "most {}",
        q.kv, q.stages, p.d, lds, t.arch, ldsLimit(t.arch)));
  }
  return Status::ok();
}

Config HipAttentionMfma::defaultConfig(const AttentionProblem &p,
                                       const TargetDesc &t) const {
  // Prefill: four waves of 16 rows over 64-key blocks, double-buffered
  // where the LDS allows; decode: the group packed into one wave, the KV
  // length split until the workgroups fill the CUs. Eager softmax (lazy=0).
  const bool gqa = p.hq > p.hkv;
  const bool decode = attnparams::isDecode(p, 16);
  attnmfma::Params q{decode ? 1 : 4, 1, 64, 2, 1, decode && gqa ? 1 : 0};
  // Decode workgroups are one wave: keep the LDS small enough for four of
  // them per CU where the head dim allows.
  const int64_t perCu = decode ? 4 : 1;
  while (attnmfma::ldsBytes(q, p.d) * perCu > ldsLimit(t.arch) &&
         (q.stages > 1 || q.kv > 32)) {
    if (q.kv > 32) {
      q.kv /= 2;
    } else {
      q.stages = 1;
    }
  }
  if (decode) {
    q.split =
        attnparams::defaultSplit(p, attnmfma::rows(q), q.pack, q.kv, kCus);
  }
  return {{"waves", q.waves},   {"mi", q.mi},       {"kv", q.kv},
          {"stages", q.stages}, {"split", q.split}, {"pack", q.pack},
          {"lazy", q.lazy}};
}

std::vector<Config> HipAttentionMfma::space(const AttentionProblem &p,
                                            const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(
      defaultConfig(p, t),
      {{"waves", {1, 2, 4, 8}},
       {"mi", {1, 2}},
       {"kv", {32, 64, 128}},
       {"stages", {1, 2}},
       {"split", {1, 2, 4, 8, 16, 32}},
       {"pack", {0, 1}},
       {"lazy", {0, 1}}},
      [&](const Config &c) {
        if (!validate(c, p, t).isOk()) {
          return false;
        }
        const attnmfma::Params q = attnmfma::readParams(c);
        return attnparams::splitWorthTrying(p, attnmfma::rows(q), q.pack, q.kv,
                                            q.split, kCus) &&
               attnmfma::rows(q) <=
                   std::max<int64_t>(16, 2 * attnparams::unitRows(p, q.pack));
      });
}

Result<KernelSource> HipAttentionMfma::instantiate(const Config &c,
                                                   const AttentionProblem &p,
                                                   const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const attnmfma::Params q = attnmfma::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(attnmfma::threads(q));
  launch.sharedBytes = 0; // Static LDS.
  launch.rows = int(attnmfma::rows(q));
  launch.kvRows = int(q.kv);
  launch.split = int(q.split);
  launch.pack = int(q.pack ? p.hq / p.hkv : 1);
  // The split-KV scratch rule (cuda::attentionWorkspaceBytes) gives each
  // semaphore of a tile 64 rows x (d + 8) floats, and a split workgroup
  // stores rows x (d + 8) (per lane d / 4 outputs, a maximum and a sum per
  // 16-row block): one semaphore per 64 rows, so that tiles of 128 or 256
  // rows get their scratch. The kernel counts a tile's arrivals on
  // semaphore `tile` and leaves the others zero.
  launch.semaphoresPerTile =
      int(std::max<int64_t>(1, (attnmfma::rows(q) + 63) / 64));
  return KernelSource{"hip", attnmfma::kernelSource(q, p, t.arch),
                      "kt_attention", launch.toString()};
}

} // namespace kt
