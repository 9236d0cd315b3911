// cuda.gemm.sm100: tuning space, legality and instantiation (the kernel text
// is in CudaGemmSm100Kernel.cpp).
#include "ktune/templates/gemm/CudaGemmSm100.h"

#include "CudaGemmCommon.h"
#include "CudaGemmSm100Kernel.h"
#include "TemplateParams.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.gemm.sm100/3";

/// Dynamic shared memory a block may opt in to on sm_100 (227 KiB).
constexpr int64_t kSm100SharedPerBlock = 232448;
/// Tensor memory per SM: 512 columns of 128 lanes x 32 bits.
constexpr int64_t kTmemColumns = 512;
/// SMs of a B200: split-K is offered while the tiles alone leave them idle.
constexpr int64_t kSms = 148;

constexpr const char *kKeys[] = {"bn", "stages", "acc", "group"};

} // namespace

std::string CudaGemmSm100::sourceHash() const {
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = p.n = p.k = 256;
  p.setDefaultLeadingDims();
  // The generator version plus the text of one instance with and one
  // without clusters, and one with an f32 C, covers the body.
  const sm100::Params single = {128, 4, 2, 8, 1};
  sm100::Params pair = single;
  pair.cluster = 2;
  GemmProblem f32 = p;
  f32.outF32 = true;
  return sha256Hex(
      std::string(kGeneratorVersion) + sm100::kernelSource(single, p) +
      sm100::kernelSource(pair, p) + sm100::kernelSource(pair, f32));
}

int64_t CudaGemmSm100::sharedBytes(const Config &c) {
  return sm100::sharedBytes(sm100::readParams(c));
}

bool CudaGemmSm100::supports(const GemmProblem &p, const TargetDesc &t) const {
  return cudagemm::supports(p, t, "sm_100a");
}

Status CudaGemmSm100::validate(const Config &c, const GemmProblem &p,
                               const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs (C bf16/f16 or f32) with leading "
        "dimensions that are multiples of 8 on cuda:sm_100a only (got {} on "
        "{})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const sm100::Params q = sm100::readParams(c);
  if (q.bn != 64 && q.bn != 128 && q.bn != 256) {
    return invalidArgument(fmt::format("bn={} must be 64, 128 or 256", q.bn));
  }
  if (q.stages < 2 || q.stages > 8) {
    return invalidArgument(fmt::format("stages={} must be 2..8", q.stages));
  }
  if (q.acc != 1 && q.acc != 2) {
    return invalidArgument(fmt::format("acc={} must be 1 or 2", q.acc));
  }
  if (q.group < 1 || q.group > 64) {
    return invalidArgument(fmt::format("group={} must be 1..64", q.group));
  }
  const int64_t kBlocks = (p.k + 63) / 64;
  if (q.splitk != 1 && q.splitk != 2 && q.splitk != 4 && q.splitk != 8) {
    return invalidArgument(
        fmt::format("splitk={} must be 1, 2, 4 or 8", q.splitk));
  }
  if (q.splitk > kBlocks) {
    return invalidArgument(
        fmt::format("splitk={} exceeds the {} K blocks of 64 that K={} has",
                    q.splitk, kBlocks, p.k));
  }
  if (q.cluster != 1 && q.cluster != 2) {
    return invalidArgument(fmt::format(
        "cluster={} must be 1 or 2 (CTAs per cluster, on vertically adjacent "
        "tiles sharing B)",
        q.cluster));
  }
  if (sm100::tmemColumns(q) > kTmemColumns) {
    return invalidArgument(fmt::format(
        "acc={} x bn={} needs {} tensor-memory columns; an SM has {}", q.acc,
        q.bn, sm100::tmemColumns(q), kTmemColumns));
  }
  const int64_t smem = sm100::sharedBytes(q);
  if (smem > kSm100SharedPerBlock) {
    return invalidArgument(fmt::format(
        "bn={} stages={} needs {} bytes of shared memory; sm_100a blocks get "
        "at most {}",
        q.bn, q.stages, smem, kSm100SharedPerBlock));
  }
  return Status::ok();
}

Config CudaGemmSm100::defaultConfig(const GemmProblem &p,
                                    const TargetDesc &) const {
  // Skinny M: the K split while the tiles alone leave SMs idle.
  if (p.n <= 128) {
    return {{"bn", 128},
            {"stages", 6},
            {"acc", 2},
            {"group", 8},
            {"splitk", cudagemm::splitFactors(p, 128, 128, kSms).back()}};
  }
  return {{"bn", 256},
          {"stages", 4},
          {"acc", 2},
          {"group", 8},
          {"splitk", cudagemm::splitFactors(p, 128, 256, kSms).back()}};
}

std::vector<Config> CudaGemmSm100::space(const GemmProblem &p,
                                         const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  const std::vector<Config> single =
      enumerateSpace(defaultConfig(p, t),
                     {{"bn", {64, 128, 256}},
                      {"stages", {3, 4, 5, 6, 8}},
                      {"acc", {1, 2}},
                      {"group", {1, 8}},
                      {"splitk", {1, 2, 4, 8}}},
                     [&](const Config &c) {
                       const std::vector<int64_t> offered =
                           cudagemm::splitFactors(p, 128, c.get("bn"), kSms);
                       return !oversizedTile(p, 0, c.get("bn"), 64) &&
                              std::find(offered.begin(), offered.end(),
                                        c.get("splitk")) != offered.end() &&
                              validate(c, p, t).isOk();
                     });
  return cudagemm::withClusterTwins(
      single,
      [&](const Config &c) {
        return cudagemm::clusterHelps(p, 128, c.get("bn"), c.get("splitk", 1),
                                      kSms);
      },
      [&](const Config &c) { return validate(c, p, t).isOk(); });
}

Result<KernelSource> CudaGemmSm100::instantiate(const Config &c,
                                                const GemmProblem &p,
                                                const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const sm100::Params q = sm100::readParams(c);
  cuda::GemmLaunchSpec launch = cudagemm::tmaLaunch(
      p, 192, int(sm100::sharedBytes(q)), 128, int(q.bn), int(q.cluster));
  launch.split = int(q.splitk);
  launch.semaphoresPerTile = q.splitk > 1 ? 1 : 0;
  return KernelSource{"cuda", sm100::kernelSource(q, p), "kt_gemm",
                      launch.toString()};
}

} // namespace kt
