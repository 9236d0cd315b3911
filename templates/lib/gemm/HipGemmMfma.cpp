// hip.gemm.mfma: tuning space, legality and instantiation (the HIP text is
// generated in HipGemmMfmaKernel.cpp).
#include "ktune/templates/gemm/HipGemmMfma.h"

#include "HipGemmMfmaKernel.h"
#include "TemplateParams.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "hip.gemm.mfma/1";
constexpr const char *kKeys[] = {"bm", "bn", "wm", "wn", "bk", "pad"};

bool served(const TargetDesc &t) {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942");
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
  return sha256Hex(std::string(kGeneratorVersion) +
                   mfma::kernelSource({128, 128, 64, 64, 64, 8}, p, "gfx950"));
}

bool HipGemmMfma::supports(const GemmProblem &p, const TargetDesc &t) const {
  // 16-byte global loads along K (or M / N): leading dimensions multiples
  // of 8 elements.
  return served(t) && (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         p.lda % 8 == 0 && p.ldb % 8 == 0 && p.m <= INT32_MAX &&
         p.n <= INT32_MAX && p.k <= INT32_MAX;
}

Status HipGemmMfma::validate(const Config &c, const GemmProblem &p,
                             const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs with lda and ldb multiples of 8 on "
        "hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const mfma::Params q = mfma::readParams(c);
  KT_RETURN_IF_ERROR(
      validateTiling(q.bm, q.bn, q.wm, q.wn, 16, 16, "wave", "the MFMA block"));
  if (q.bk != 32 && q.bk != 64 && q.bk != 128) {
    return invalidArgument(fmt::format("bk={} must be 32, 64 or 128", q.bk));
  }
  if (q.pad != 0 && q.pad != 8) {
    return invalidArgument(fmt::format("pad={} must be 0 or 8", q.pad));
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
  // gfx942's 64 KiB of LDS holds two 128 x 128 stages of bk = 32.
  const int64_t bk = t.arch == "gfx950" ? 64 : 32;
  if (p.m <= 32) {
    return {{"bm", 32}, {"bn", 128}, {"wm", 32},
            {"wn", 32}, {"bk", bk},  {"pad", 8}};
  }
  return {{"bm", 128}, {"bn", 128}, {"wm", 64},
          {"wn", 64},  {"bk", bk},  {"pad", 8}};
}

std::vector<Config> HipGemmMfma::space(const GemmProblem &p,
                                       const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(defaultConfig(p, t),
                        {{"bm", {32, 64, 128, 256}},
                         {"bn", {32, 64, 128, 256}},
                         {"wm", {16, 32, 64}},
                         {"wn", {16, 32, 64}},
                         {"bk", {32, 64, 128}},
                         {"pad", {0, 8}}},
                        [&](const Config &c) {
                          return !oversizedTile(p, c.get("bm"), c.get("bn"),
                                                32) &&
                                 validate(c, p, t).isOk();
                        });
}

Result<KernelSource> HipGemmMfma::instantiate(const Config &c,
                                              const GemmProblem &p,
                                              const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const mfma::Params q = mfma::readParams(c);
  // kt_gemm(A, B, C, M, N, K, lda, ldb, ldc, alpha, beta), one workgroup
  // per tile.
  const std::string launch =
      fmt::format("threads={};lds={};tile={}x{};grid=tiles;args=hip-pointers",
                  mfma::threads(q), mfma::ldsBytes(q), q.bm, q.bn);
  return KernelSource{"hip", mfma::kernelSource(q, p, t.arch), "kt_gemm",
                      launch};
}

} // namespace kt
