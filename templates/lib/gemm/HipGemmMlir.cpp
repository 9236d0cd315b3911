// hip.gemm.mlir: tuning space, legality and instantiation.
#include "ktune/templates/gemm/HipGemmMlir.h"

#include "HipGemmMlirKernel.h"
#include "TemplateParams.h"

#include "ktune/base/Hash.h"
#include "ktune/templates/gemm/HipGemmMfma.h"

#include "ktune/drivers/hip/HipGemmLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "hip.gemm.mlir/1";
constexpr const char *kKeys[] = {"bm", "bn", "wm", "wn", "bk"};

bool served(const TargetDesc &t) {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942");
}

} // namespace

std::string HipGemmMlir::sourceHash() const {
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = p.n = p.k = 256;
  p.setDefaultLeadingDims();
  return sha256Hex(std::string(kGeneratorVersion) +
                   hipmlir::kernelSource({128, 128, 64, 64, 64}, p, "gfx950"));
}

bool HipGemmMlir::supports(const GemmProblem &p, const TargetDesc &t) const {
  // C has the inputs' type: an f32 C (outF32) is not offered here.
  return served(t) && (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         !p.outF32 && p.m <= INT32_MAX && p.n <= INT32_MAX && p.k <= INT32_MAX;
}

Status HipGemmMlir::validate(const Config &c, const GemmProblem &p,
                             const TargetDesc &t) const {
  if (p.outF32) {
    return invalidArgument(fmt::format(
        "{} does not offer f32 output: its C is bf16/f16 like A and B (got "
        "{}; cuda.gemm.mlir, cuda.gemm.sm90 and cuda.gemm.sm100 serve it)",
        name(), p.key()));
  }
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs on hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const mlirgpu::Tiling q = hipmlir::readTiling(c);
  KT_RETURN_IF_ERROR(
      validateTiling(q.bm, q.bn, q.wm, q.wn, 16, 16, "wave", "the MFMA block"));
  const int64_t km = hipmlir::mfmaK(t.arch);
  if (q.bk < km || q.bk > 64 || q.bk % km != 0) {
    return invalidArgument(
        fmt::format("bk={} must be a multiple of the {} MFMA's K={} up to 64",
                    q.bk, t.arch, km));
  }
  if (mlirgpu::threads(q, 64) > 1024) {
    return invalidArgument(fmt::format(
        "bm={} bn={} wm={} wn={} makes {} threads; a workgroup has at most "
        "1024",
        q.bm, q.bn, q.wm, q.wn, mlirgpu::threads(q, 64)));
  }
  const int64_t accumulators = (q.wm / 16) * (q.wn / 16) * 4;
  if (accumulators > 256) {
    return invalidArgument(fmt::format(
        "wm={} wn={} needs {} f32 accumulators per lane; at most 256 of the "
        "512 VGPRs + AGPRs",
        q.wm, q.wn, accumulators));
  }
  const int64_t lds = mlirgpu::sharedBytes(q);
  if (lds > HipGemmMfma::ldsLimit(t.arch)) {
    return invalidArgument(fmt::format(
        "bm={} bn={} bk={} needs {} bytes of LDS; {} workgroups get at most {}",
        q.bm, q.bn, q.bk, lds, t.arch, HipGemmMfma::ldsLimit(t.arch)));
  }
  return Status::ok();
}

Config HipGemmMlir::defaultConfig(const GemmProblem &p,
                                  const TargetDesc &t) const {
  const int64_t bk = hipmlir::mfmaK(t.arch) * 2;
  if (p.m <= 32) {
    return {{"bm", 32}, {"bn", 128}, {"wm", 32}, {"wn", 32}, {"bk", bk}};
  }
  return {{"bm", 128}, {"bn", 128}, {"wm", 64}, {"wn", 64}, {"bk", bk}};
}

std::vector<Config> HipGemmMlir::space(const GemmProblem &p,
                                       const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(defaultConfig(p, t),
                        {{"bm", {32, 64, 128, 256}},
                         {"bn", {32, 64, 128, 256}},
                         {"wm", {16, 32, 64}},
                         {"wn", {16, 32, 64}},
                         {"bk", {16, 32, 64}}},
                        [&](const Config &c) {
                          return !oversizedTile(p, c.get("bm"), c.get("bn"),
                                                32) &&
                                 validate(c, p, t).isOk();
                        });
}

Result<KernelSource> HipGemmMlir::instantiate(const Config &c,
                                              const GemmProblem &p,
                                              const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const mlirgpu::Tiling q = hipmlir::readTiling(c);
  // kt_gemm(A, B, C, alpha, beta), one workgroup per tile, static LDS.
  hip::GemmLaunchSpec launch;
  launch.threads = int(mlirgpu::threads(q, 64));
  launch.ldsBytes = int(mlirgpu::sharedBytes(q));
  launch.tileM = int(q.bm);
  launch.tileN = int(q.bn);
  launch.args = hip::GemmLaunchSpec::Args::Static;
  return KernelSource{"mlir", hipmlir::kernelSource(q, p, t.arch), "kt_gemm",
                      launch.toString()};
}

} // namespace kt
