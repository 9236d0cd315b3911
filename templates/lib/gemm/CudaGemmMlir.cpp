// cuda.gemm.mlir: tuning space, legality and instantiation (the MLIR text is
// generated in CudaGemmMlirKernel.cpp).
#include "ktune/templates/gemm/CudaGemmMlir.h"

#include "TemplateParams.h"

#include "CudaGemmMlirKernel.h"
#include "ktune/drivers/cuda/GemmLaunch.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "cuda.gemm.mlir/2";
constexpr const char *kKeys[] = {"bm", "bn", "wm", "wn", "bk"};
/// Static shared memory without opting in.
constexpr int64_t kStaticShared = 48 * 1024;

bool served(const TargetDesc &t) {
  return t.kind == TargetKind::Cuda &&
         (t.arch == "sm_90a" || t.arch == "sm_100a");
}

} // namespace

std::string CudaGemmMlir::sourceHash() const {
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = p.n = p.k = 256;
  p.setDefaultLeadingDims();
  GemmProblem f32 = p;
  f32.outF32 = true;
  return sha256Hex(
      std::string(kGeneratorVersion) +
      mlirgemm::kernelSource({128, 128, 64, 32, 32}, p, "sm_90a") +
      mlirgemm::kernelSource({128, 128, 64, 32, 32}, f32, "sm_90a"));
}

bool CudaGemmMlir::supports(const GemmProblem &p, const TargetDesc &t) const {
  // Bare pointers and element loads: no pitch or alignment rule (C, bf16 /
  // f16 or an f32 C with outF32, is stored element-wise).
  return served(t) && (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         p.m <= INT32_MAX && p.n <= INT32_MAX && p.k <= INT32_MAX;
}

Status CudaGemmMlir::validate(const Config &c, const GemmProblem &p,
                              const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 GEMMs (C bf16/f16 or f32) on cuda:sm_90a and "
        "cuda:sm_100a (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const mlirgpu::Tiling q = mlirgemm::readTiling(c);
  KT_RETURN_IF_ERROR(
      validateTiling(q.bm, q.bn, q.wm, q.wn, 16, 8, "warp", "the mma shape"));
  if (q.bk != 16 && q.bk != 32 && q.bk != 64) {
    return invalidArgument(fmt::format("bk={} must be 16, 32 or 64", q.bk));
  }
  const int64_t threads = mlirgpu::threads(q, mlirgemm::kWarp);
  if (threads > 1024) {
    return invalidArgument(fmt::format(
        "bm={} bn={} wm={} wn={} makes {} threads; a block has at most 1024",
        q.bm, q.bn, q.wm, q.wn, threads));
  }
  const int64_t accumulators = (q.wm / 16) * (q.wn / 8) * 4;
  if (accumulators > 128) {
    return invalidArgument(fmt::format(
        "wm={} wn={} needs {} f32 accumulators per thread; at most 128", q.wm,
        q.wn, accumulators));
  }
  if (mlirgpu::sharedBytes(q) > kStaticShared) {
    return invalidArgument(fmt::format(
        "bm={} bn={} bk={} needs {} bytes of static shared memory; at most "
        "{}",
        q.bm, q.bn, q.bk, mlirgpu::sharedBytes(q), kStaticShared));
  }
  return Status::ok();
}

Config CudaGemmMlir::defaultConfig(const GemmProblem &p,
                                   const TargetDesc &) const {
  if (p.m <= 32) {
    return {{"bm", 32}, {"bn", 128}, {"wm", 32}, {"wn", 32}, {"bk", 32}};
  }
  return {{"bm", 128}, {"bn", 128}, {"wm", 64}, {"wn", 32}, {"bk", 32}};
}

std::vector<Config> CudaGemmMlir::space(const GemmProblem &p,
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

Result<KernelSource> CudaGemmMlir::instantiate(const Config &c,
                                               const GemmProblem &p,
                                               const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const mlirgpu::Tiling q = mlirgemm::readTiling(c);
  cuda::GemmLaunchSpec launch;
  launch.threads = int(mlirgpu::threads(q, mlirgemm::kWarp));
  launch.sharedBytes = 0; // All static.
  launch.tileM = int(q.bm);
  launch.tileN = int(q.bn);
  launch.persistent = false;
  launch.pointers = true;
  return KernelSource{"mlir", mlirgemm::kernelSource(q, p, t.arch), "kt_gemm",
                      launch.toString()};
}

} // namespace kt
