// hip.gemm.mfma: tuning space, legality and instantiation (the HIP text is
// generated in HipGemmMfmaKernel.cpp).
#include "ktune/templates/gemm/HipGemmMfma.h"

#include "HipGemmMfmaKernel.h"
#include "TemplateParams.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "hip.gemm.mfma/2";
constexpr const char *kKeys[] = {"bm", "bn", "wm", "wn", "bk", "pad"};

/// Registers a lane may give the accumulators and the chunks in flight
/// together, leaving the rest of the 512 VGPRs + AGPRs to fragments and
/// addresses.
constexpr int64_t kLiveRegisters = 384;

bool served(const TargetDesc &t) {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942");
}

/// Compute units: 256 on an MI355X (gfx950), 304 on an MI300X (gfx942).
int64_t computeUnits(const TargetDesc &t) {
  return t.arch == "gfx950" ? 256 : 304;
}

int64_t kSteps(const GemmProblem &p, int64_t bk) { return (p.k + bk - 1) / bk; }

/// Split-K factors worth trying for bm x bn x bk tiles: 1, then 2, 4, 8
/// while the tiles alone leave compute units idle, tiles x slices stays
/// within two workgroups per compute unit, and every slice keeps at least
/// two K steps of bk.
std::vector<int64_t> splitFactors(const GemmProblem &p, const TargetDesc &t,
                                  int64_t bm, int64_t bn, int64_t bk) {
  const int64_t tiles = ((p.m + bm - 1) / bm) * ((p.n + bn - 1) / bn);
  const int64_t cus = computeUnits(t);
  std::vector<int64_t> out = {1};
  for (int64_t s : {2, 4, 8}) {
    if (tiles < cus && tiles * s <= 2 * cus && kSteps(p, bk) >= 2 * s) {
      out.push_back(s);
    }
  }
  return out;
}

} // namespace

int64_t HipGemmMfma::ldsBytes(const Config &c) {
  return mfma::ldsBytes(mfma::readParams(c));
}

int64_t HipGemmMfma::ldsLimit(const std::string &arch) {
  return arch == "gfx950" ? 160 * 1024 : 64 * 1024;
}

std::string HipGemmMfma::sourceHash() const {
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = p.n = p.k = 256;
  p.setDefaultLeadingDims();
  GemmProblem f32 = p;
  f32.outF32 = true;
  return sha256Hex(
      std::string(kGeneratorVersion) +
      mfma::kernelSource({128, 128, 64, 64, 64, 8}, p, "gfx950") +
      mfma::kernelSource({128, 128, 64, 64, 64, 8}, f32, "gfx950"));
}

bool HipGemmMfma::supports(const GemmProblem &p, const TargetDesc &t) const {
  // 16-byte global loads along K (or M / N): leading dimensions multiples
  // of 8 elements. C is bf16 / f16 like A and B, or f32 (outF32); it is
  // stored element by element, so ldc has no constraint.
  return served(t) && (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         p.lda % 8 == 0 && p.ldb % 8 == 0 && p.m <= INT32_MAX &&
         p.n <= INT32_MAX && p.k <= INT32_MAX;
}

Status HipGemmMfma::validate(const Config &c, const GemmProblem &p,
                             const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs (C bf16/f16 or f32) with lda and ldb "
        "multiples of 8 on hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const mfma::Params q = mfma::readParams(c);
  if (q.mi != 16 && q.mi != 32) {
    return invalidArgument(fmt::format("mi={} must be 16 or 32", q.mi));
  }
  KT_RETURN_IF_ERROR(validateTiling(q.bm, q.bn, q.wm, q.wn, q.mi, q.mi, "wave",
                                    q.mi == 16 ? "the 16x16 MFMA block"
                                               : "the 32x32 MFMA block"));
  if (q.bk != 32 && q.bk != 64 && q.bk != 128) {
    return invalidArgument(fmt::format("bk={} must be 32, 64 or 128", q.bk));
  }
  if (q.pad != 0 && q.pad != 8) {
    return invalidArgument(fmt::format("pad={} must be 0 or 8", q.pad));
  }
  if (q.splitk != 1 && q.splitk != 2 && q.splitk != 4 && q.splitk != 8) {
    return invalidArgument(
        fmt::format("splitk={} must be 1, 2, 4 or 8", q.splitk));
  }
  if (q.splitk > kSteps(p, q.bk)) {
    return invalidArgument(
        fmt::format("splitk={} exceeds the {} K steps of bk={} that K={} has",
                    q.splitk, kSteps(p, q.bk), q.bk, p.k));
  }
  if (q.unroll != 1 && q.unroll != 2) {
    return invalidArgument(fmt::format("unroll={} must be 1 or 2", q.unroll));
  }
  if (mfma::threads(q) > 1024) {
    return invalidArgument(fmt::format(
        "bm={} bn={} wm={} wn={} makes {} threads; a workgroup has at most "
        "1024",
        q.bm, q.bn, q.wm, q.wn, mfma::threads(q)));
  }
  if (mfma::accumulators(q) > 256) {
    return invalidArgument(fmt::format(
        "wm={} wn={} needs {} f32 accumulators per lane; at most 256 of the "
        "512 VGPRs + AGPRs",
        q.wm, q.wn, mfma::accumulators(q)));
  }
  if (mfma::accumulators(q) + mfma::fetchRegisters(q) > kLiveRegisters) {
    return invalidArgument(fmt::format(
        "bm={} bn={} wm={} wn={} bk={} keeps {} accumulators and {} VGPRs of "
        "next-step chunks per lane; at most {} together",
        q.bm, q.bn, q.wm, q.wn, q.bk, mfma::accumulators(q),
        mfma::fetchRegisters(q), kLiveRegisters));
  }
  if (mfma::ldsBytes(q) > ldsLimit(t.arch)) {
    return invalidArgument(fmt::format(
        "bm={} bn={} bk={} pad={} needs {} bytes of LDS; {} workgroups get at "
        "most {}",
        q.bm, q.bn, q.bk, q.pad, mfma::ldsBytes(q), t.arch, ldsLimit(t.arch)));
  }
  return Status::ok();
}

Config HipGemmMfma::defaultConfig(const GemmProblem &p,
                                  const TargetDesc &t) const {
  // gfx942's 64 KiB of LDS holds two 128 x 128 stages of bk = 32. Skinny
  // M: 32 x 128 tiles. K is split by the largest offered factor whose
  // workgroups fill the compute units once.
  const int64_t bk = t.arch == "gfx950" ? 64 : 32;
  const bool skinny = p.m <= 32;
  const int64_t bm = skinny ? 32 : 128, bn = 128, w = skinny ? 32 : 64;
  const int64_t tiles = ((p.m + bm - 1) / bm) * ((p.n + bn - 1) / bn);
  int64_t split = 1;
  for (int64_t s : splitFactors(p, t, bm, bn, bk)) {
    if (tiles * s <= computeUnits(t)) {
      split = s;
    }
  }
  return {{"bm", bm}, {"bn", bn}, {"wm", w},         {"wn", w},    {"bk", bk},
          {"pad", 8}, {"mi", 16}, {"splitk", split}, {"unroll", 1}};
}

std::vector<Config> HipGemmMfma::space(const GemmProblem &p,
                                       const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(
      defaultConfig(p, t),
      {{"bm", {32, 64, 128, 256}},
       {"bn", {32, 64, 128, 256}},
       {"wm", {16, 32, 64}},
       {"wn", {16, 32, 64}},
       {"bk", {32, 64, 128}},
       {"pad", {0, 8}},
       {"mi", {16, 32}},
       {"splitk", {1, 2, 4, 8}},
       {"unroll", {1, 2}}},
      [&](const Config &c) {
        const std::vector<int64_t> offered =
            splitFactors(p, t, c.get("bm"), c.get("bn"), c.get("bk"));
        return !oversizedTile(p, c.get("bm"), c.get("bn"), 32) &&
               std::find(offered.begin(), offered.end(), c.get("splitk")) !=
                   offered.end() &&
               validate(c, p, t).isOk();
      });
}

Result<KernelSource> HipGemmMfma::instantiate(const Config &c,
                                              const GemmProblem &p,
                                              const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const mfma::Params q = mfma::readParams(c);
  // kt_gemm(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta, workspace,
  // semaphores), splitk workgroups per tile; split-K kernels need
  // tiles * splitk * bm * bn floats of workspace and one zeroed u32
  // semaphore per tile (hip::GemmLaunchSpec's contract).
  hip::GemmLaunchSpec launch;
  launch.threads = int(mfma::threads(q));
  launch.ldsBytes = int(mfma::ldsBytes(q));
  launch.tileM = int(q.bm);
  launch.tileN = int(q.bn);
  launch.split = int(q.splitk);
  launch.semaphoresPerTile = q.splitk > 1 ? 1 : 0;
  return KernelSource{"hip", mfma::kernelSource(q, p, t.arch), "kt_gemm",
                      launch.toString()};
}

} // namespace kt
