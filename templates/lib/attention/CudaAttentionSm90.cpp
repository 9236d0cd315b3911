// cuda.attention.sm90: tuning space, legality and instantiation (the kernel
// text is in CudaAttentionSm90Kernel.cpp).
#include "ktune/templates/attention/CudaAttentionSm90.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "CudaAttentionSm90Kernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.attention.sm90/4";

/// Dynamic shared memory a block may opt in to on sm_90 (227 KiB).
constexpr int64_t kSm90SharedPerBlock = 232448;
/// Registers a consumer thread needs besides the live tiles: addresses,
/// loop state, the softmax temporaries.
constexpr int64_t kOverheadRegisters = 48;
/// SMs of an H100 SXM: split-KV is offered while the tiles alone fill
/// fewer than this many CTAs twice over.
constexpr int64_t kSms = 132;

// overlap, pingpong, lazy and persist are optional: configurations stored
// before they existed lack them (0).
constexpr const char *kKeys[] = {"kv", "cons", "stages", "split", "pack"};

} // namespace

std::string CudaAttentionSm90::sourceHash() const {
  // The generator version plus the text of one instance per block loop
  // covers the body; the lazy=1 instance covers the KT_LAZY blocks, which
  // the lazy=0 text leaves out; persist=1 is only a #define away.
  const AttentionProblem p = attnparams::hashProblem(128);
  std::string text = kGeneratorVersion;
  for (int64_t overlap : {0, 1, 2}) {
    text += attn90::kernelSource(
        {128, 2, 2, 2, 1, overlap, overlap == 2 ? 1 : 0}, p);
  }
  text += attn90::kernelSource({128, 2, 2, 2, 1, 2, 1, 1}, p);
  return sha256Hex(text);
}

int64_t CudaAttentionSm90::sharedBytes(const Config &c, int64_t d) {
  return attn90::sharedBytes(attn90::readParams(c), d);
}

bool CudaAttentionSm90::supports(const AttentionProblem &p,
                                 const TargetDesc &t) const {
  return t.kind == TargetKind::Cuda && t.arch == "sm_90a" &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128) && p.validate().isOk() &&
         p.batch * std::max(p.sq, p.skv) * p.hq * p.d <= INT32_MAX;
}

Status CudaAttentionSm90::validate(const Config &c, const AttentionProblem &p,
                                   const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64 or 128 (tensors "
        "under 2^31 elements) on cuda:sm_90a only (got {} on {}); head dim "
        "256 would leave a consumer thread no registers for the scores",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const attn90::Params q = attn90::readParams(c);
  if (q.kv != 64 && q.kv != 128 && q.kv != 192) {
    return invalidArgument(fmt::format("kv={} must be 64, 128 or 192", q.kv));
  }
  if (q.cons < 1 || q.cons > 3) {
    return invalidArgument(fmt::format("cons={} must be 1, 2 or 3", q.cons));
  }
  KT_RETURN_IF_ERROR(attnparams::validateStages(q.stages, 2, 4));
  if (q.overlap < 0 || q.overlap > 2) {
    return invalidArgument(
        fmt::format("overlap={} must be 0, 1 or 2", q.overlap));
  }
  KT_RETURN_IF_ERROR(attnparams::validateFlag("pingpong", q.pingpong));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
  KT_RETURN_IF_ERROR(attnparams::validateFlag("persist", q.persist));
  if (q.persist == 1 && q.split != 1) {
    return invalidArgument(fmt::format(
        "persist=1 walks whole tiles; it takes no KV split (got split={})",
        q.split));
  }
  if (q.pingpong == 1 && (q.cons < 2 || q.overlap != 2)) {
    return invalidArgument(fmt::format(
        "pingpong=1 needs two or more consumer warpgroups taking turns and "
        "overlap=2 (their GEMMs issued back to back); got cons={} overlap={}",
        q.cons, q.overlap));
  }
  KT_RETURN_IF_ERROR(attnparams::validateSplitPack(p, q.split, q.pack, q.kv));
  const int64_t regs = attn90::liveRegisters(q, p.d) + kOverheadRegisters;
  if (regs > attn90::consumerRegisters(q)) {
    return invalidArgument(fmt::format(
        "kv={} d={} cons={} overlap={} needs about {} registers per consumer "
        "thread; {} consumer warpgroups get {}",
        q.kv, p.d, q.cons, q.overlap, regs, q.cons,
        attn90::consumerRegisters(q)));
  }
  const int64_t smem = attn90::sharedBytes(q, p.d);
  if (smem > kSm90SharedPerBlock) {
    return invalidArgument(fmt::format(
        "kv={} cons={} stages={} d={} needs {} bytes of shared memory; "
        "sm_90a blocks get at most {}",
        q.kv, q.cons, q.stages, p.d, smem, kSm90SharedPerBlock));
  }
  return Status::ok();
}

Config CudaAttentionSm90::defaultConfig(const AttentionProblem &p,
                                        const TargetDesc &) const {
  // Prefill: two consumer warpgroups of 64 rows over 128-key blocks.
  // Decode (a few query rows): the group's heads packed into one warpgroup,
  // the KV length split until the CTAs fill the SMs. Serial block loops
  // (overlap=0) and the eager softmax (lazy=0): the others have not run on
  // a GPU yet.
  if (!attnparams::isDecode(p, 64)) {
    return {{"kv", 128},     {"cons", 2}, {"stages", 2},
            {"split", 1},    {"pack", 0}, {"overlap", 0},
            {"pingpong", 0}, {"lazy", 0}, {"persist", 0}};
  }
  attn90::Params q{128, 1, 4, 1, p.hq > p.hkv ? 1 : 0, 0, 0, 0, 0};
  while (q.stages > 2 && attn90::sharedBytes(q, p.d) > kSm90SharedPerBlock) {
    --q.stages;
  }
  q.split = attnparams::defaultSplit(p, attn90::rows(q), q.pack, q.kv, kSms);
  return {{"kv", q.kv},
          {"cons", q.cons},
          {"stages", q.stages},
          {"split", q.split},
          {"pack", q.pack},
          {"overlap", q.overlap},
          {"pingpong", q.pingpong},
          {"lazy", q.lazy},
          {"persist", q.persist}};
}

std::vector<Config> CudaAttentionSm90::space(const AttentionProblem &p,
                                             const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  const Config first = defaultConfig(p, t);
  return enumerateSpace(
      first,
      {{"kv", {64, 128, 192}},
       {"cons", {1, 2, 3}},
       {"stages", {2, 3, 4}},
       {"split", {1, 2, 4, 8, 16, 32}},
       {"pack", {0, 1}},
       {"overlap", {0, 1, 2}},
       {"pingpong", {0, 1}},
       {"lazy", {0, 1}},
       {"persist", {0, 1}}},
      [&](const Config &c) {
        if (!validate(c, p, t).isOk()) {
          return false;
        }
        const attn90::Params q = attn90::readParams(c);
        // Splits only while the tiles leave SMs idle; persistent CTAs only
        // where the tiles take more than one wave; tiles no taller than
        // twice the rows.
        return attnparams::splitWorthTrying(p, attn90::rows(q), q.pack, q.kv,
                                            q.split, kSms) &&
               (q.persist == 0 ||
                attnparams::tileCount(p, attn90::rows(q), q.pack) > kSms) &&
               (q.cons == 1 ||
                attn90::rows(q) <= 2 * attnparams::unitRows(p, q.pack));
      });
}

Result<KernelSource> CudaAttentionSm90::instantiate(const Config &c,
                                                    const AttentionProblem &p,
                                                    const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const attn90::Params q = attn90::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(attn90::threads(q));
  launch.sharedBytes = int(attn90::sharedBytes(q, p.d));
  launch.rows = int(attn90::rows(q));
  launch.kvRows = int(q.kv);
  launch.split = int(q.split);
  launch.pack = int(q.pack ? p.hq / p.hkv : 1);
  launch.semaphoresPerTile = int(q.cons);
  launch.persistent = q.persist == 1;
  return KernelSource{"cuda", attn90::kernelSource(q, p), "kt_attention",
                      launch.toString()};
}

} // namespace kt
