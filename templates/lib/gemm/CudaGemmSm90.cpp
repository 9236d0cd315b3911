// cuda.gemm.sm90: tuning space, legality and instantiation (the kernel text
// is in CudaGemmSm90Kernel.cpp).
#include "ktune/templates/gemm/CudaGemmSm90.h"

#include "CudaGemmCommon.h"
#include "CudaGemmSm90Kernel.h"
#include "TemplateParams.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.gemm.sm90/3";

/// Dynamic shared memory a block may opt in to on sm_90 (227 KiB).
constexpr int64_t kSm90SharedPerBlock = 232448;
/// f32 accumulators per consumer thread that leave room for addresses and
/// the epilogue under setmaxnreg 232.
constexpr int64_t kMaxAccumulators = 128;

constexpr const char *kKeys[] = {"bm", "bn", "stages", "cons", "group"};

} // namespace

std::string CudaGemmSm90::sourceHash() const {
  // The generator version plus the text of one instance with and one
  // without clusters, and one with an f32 C, covers the body.
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = p.n = p.k = 256;
  p.setDefaultLeadingDims();
  const sm90::Params single = {128, 128, 4, 2, 8, 2};
  sm90::Params pair = single;
  pair.cluster = 2;
  GemmProblem f32 = p;
  f32.outF32 = true;
  return sha256Hex(std::string(kGeneratorVersion) +
                   sm90::kernelSource(single, p) + sm90::kernelSource(pair, p) +
                   sm90::kernelSource(pair, f32));
}

int64_t CudaGemmSm90::sharedBytes(const Config &c) {
  return sm90::sharedBytes(sm90::readParams(c));
}

bool CudaGemmSm90::supports(const GemmProblem &p, const TargetDesc &t) const {
  return cudagemm::supports(p, t, "sm_90a");
}

Status CudaGemmSm90::validate(const Config &c, const GemmProblem &p,
                              const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs (C bf16/f16 or f32) with leading "
        "dimensions that are multiples of 8 on cuda:sm_90a only (got {} on "
        "{})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const sm90::Params q = sm90::readParams(c);
  if (q.cons != 1 && q.cons != 2) {
    return invalidArgument(fmt::format("cons={} must be 1 or 2", q.cons));
  }
  if (q.bm != 64 && q.bm != 128 && q.bm != 256) {
    return invalidArgument(fmt::format("bm={} must be 64, 128 or 256", q.bm));
  }
  if (q.bm % (64 * q.cons) != 0) {
    return invalidArgument(fmt::format(
        "bm={} must be a multiple of 64 x cons={} (each consumer warpgroup "
        "owns whole m64 blocks)",
        q.bm, q.cons));
  }
  if (q.bn != 64 && q.bn != 128 && q.bn != 192 && q.bn != 256) {
    return invalidArgument(
        fmt::format("bn={} must be 64, 128, 192 or 256", q.bn));
  }
  if (q.stages < 2 || q.stages > 8) {
    return invalidArgument(fmt::format("stages={} must be 2..8", q.stages));
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
  const int64_t accumulators = (q.bm / (64 * q.cons)) * q.bn / 2;
  if (accumulators > kMaxAccumulators) {
    return invalidArgument(fmt::format(
        "bm={} bn={} cons={} needs {} f32 accumulators per thread; at most "
        "{} fit the register file",
        q.bm, q.bn, q.cons, accumulators, kMaxAccumulators));
  }
  const int64_t smem = sm90::sharedBytes(q);
  if (smem > kSm90SharedPerBlock) {
    return invalidArgument(fmt::format(
        "bm={} bn={} stages={} needs {} bytes of shared memory; sm_90a "
        "blocks get at most {}",
        q.bm, q.bn, q.stages, smem, kSm90SharedPerBlock));
  }
  return Status::ok();
}

namespace {

/// SMs of an H100 / H200.
constexpr int64_t kSms = 132;

/// Split-K factors worth trying on an H100's 132 SMs.
std::vector<int64_t> splits(const GemmProblem &p, int64_t bm, int64_t bn) {
  return cudagemm::splitFactors(p, bm, bn, kSms);
}

} // namespace

Config CudaGemmSm90::defaultConfig(const GemmProblem &p,
                                   const TargetDesc &) const {
  // Large problems: the 128 x 256 tile with two consumers that Hopper GEMMs
  // are known to run best with; skinny M: one m64 consumer, K split while
  // the tiles alone leave SMs idle.
  if (p.m <= 64) {
    return {{"bm", 64},  {"bn", 128},  {"stages", 6},
            {"cons", 1}, {"group", 1}, {"splitk", splits(p, 64, 128).back()}};
  }
  if (p.n <= 128) {
    return {{"bm", 128}, {"bn", 128},  {"stages", 6},
            {"cons", 2}, {"group", 8}, {"splitk", 1}};
  }
  return {{"bm", 128}, {"bn", 256},  {"stages", 4},
          {"cons", 2}, {"group", 8}, {"splitk", 1}};
}

std::vector<Config> CudaGemmSm90::space(const GemmProblem &p,
                                        const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  const std::vector<Config> single =
      enumerateSpace(defaultConfig(p, t),
                     {{"bm", {64, 128, 256}},
                      {"bn", {64, 128, 192, 256}},
                      {"cons", {1, 2}},
                      {"stages", {3, 4, 5, 6}},
                      {"group", {1, 8}},
                      {"splitk", {1, 2, 4, 8}}},
                     [&](const Config &c) {
                       const int64_t bm = c.get("bm"), bn = c.get("bn");
                       const std::vector<int64_t> offered = splits(p, bm, bn);
                       return !oversizedTile(p, bm, bn, 64) &&
                              std::find(offered.begin(), offered.end(),
                                        c.get("splitk")) != offered.end() &&
                              validate(c, p, t).isOk();
                     });
  return cudagemm::withClusterTwins(
      single,
      [&](const Config &c) {
        return cudagemm::clusterHelps(p, c.get("bm"), c.get("bn"),
                                      c.get("splitk", 1), kSms);
      },
      [&](const Config &c) { return validate(c, p, t).isOk(); });
}

Result<KernelSource> CudaGemmSm90::instantiate(const Config &c,
                                               const GemmProblem &p,
                                               const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const sm90::Params q = sm90::readParams(c);
  cuda::GemmLaunchSpec launch =
      cudagemm::tmaLaunch(p, int(sm90::threads(q)), int(sm90::sharedBytes(q)),
                          int(q.bm), int(q.bn), int(q.cluster));
  launch.split = int(q.splitk);
  launch.semaphoresPerTile = q.splitk > 1 ? int(q.cons) : 0;
  return KernelSource{"cuda", sm90::kernelSource(q, p), "kt_gemm",
                      launch.toString()};
}

} // namespace kt
