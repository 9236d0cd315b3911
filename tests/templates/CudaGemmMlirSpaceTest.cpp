// cuda.gemm.mlir's space and compile-free validate(), and the MLIR it emits.
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmMlir.h"
#include "ktune/templates/gemm/HipGemmMlir.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
Config cfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn, int64_t bk) {
  return {{"bm", bm}, {"bn", bn}, {"wm", wm}, {"wn", wn}, {"bk", bk}};
}
} // namespace

TEST_CASE("the MLIR CUDA family serves bf16/f16 on sm_90a and sm_100a") {
  CudaGemmMlir t;
  GemmProblem p = test::gemmProblem("TT", 1000, 999, 4095, DType::BF16);
  for (const char *arch : {"cuda:sm_90a", "cuda:sm_100a"}) {
    REQUIRE(t.supports(p, *parseTarget(arch)));
  }
  REQUIRE_FALSE(t.supports(p, *parseTarget("cpu")));
  REQUIRE_FALSE(t.supports(p, *parseTarget("cuda:sm_80")));
  REQUIRE_FALSE(t.supports(test::gemmProblem("NN", 8, 8, 8),
                           *parseTarget("cuda:sm_90a")));
}

TEST_CASE("MLIR CUDA validate() names the limit a configuration breaks") {
  CudaGemmMlir t;
  const TargetDesc sm90 = *parseTarget("cuda:sm_90a");
  GemmProblem p = test::gemmProblem("NT", 4096, 4096, 4096, DType::BF16);
  REQUIRE(t.validate(cfg(128, 128, 64, 32, 32), p, sm90).isOk());
  auto msg = [&](const Config &c) {
    Status s = t.validate(c, p, sm90);
    REQUIRE_FALSE(s.isOk());
    return s.message();
  };
  REQUIRE_THAT(msg(cfg(96, 128, 32, 32, 32)), Catch::Contains("powers of two"));
  REQUIRE_THAT(msg(cfg(128, 128, 24, 32, 32)), Catch::Contains("wm=24"));
  REQUIRE_THAT(msg(cfg(128, 128, 64, 32, 48)), Catch::Contains("bk=48"));
  // 256 x 256 tiles of 16 x 16 warps: 8192 threads.
  REQUIRE_THAT(msg(cfg(256, 256, 16, 16, 16)), Catch::Contains("threads"));
  // 64 x 64 warp tiles: 128 accumulators x 2.
  REQUIRE_THAT(msg(cfg(256, 256, 128, 64, 16)),
               Catch::Contains("accumulators"));
  // (256 + 256) x (64 + 8) x 2 B = 72 KiB of static shared memory.
  REQUIRE_THAT(msg(cfg(256, 256, 64, 64, 64)), Catch::Contains("shared"));
}

TEST_CASE("the MLIR CUDA space is legal and its instances are specialised") {
  CudaGemmMlir t;
  const TargetDesc sm100 = *parseTarget("cuda:sm_100a");
  for (GemmProblem p : {test::gemmProblem("NT", 16, 4096, 4096, DType::BF16),
                        test::gemmProblem("TN", 1000, 999, 4095, DType::F16)}) {
    auto space = t.space(p, sm100);
    REQUIRE(space.size() >= 10);
    REQUIRE(space.front() == t.defaultConfig(p, sm100));
    for (const Config &c : space) {
      REQUIRE(t.validate(c, p, sm100).isOk());
    }
  }
  GemmProblem p = test::gemmProblem("TN", 1000, 999, 4095, DType::F16);
  auto src = t.instantiate(cfg(64, 64, 32, 32, 32), p, sm100);
  REQUIRE(src.isOk());
  REQUIRE(src->language == "mlir");
  // Static shapes (A stored K x M) and the arch's NVVM target.
  REQUIRE_THAT(src->text, Catch::Contains("memref<4095x1000xf16>"));
  REQUIRE_THAT(src->text, Catch::Contains("chip = \"sm_100a\""));
  REQUIRE_THAT(src->text, Catch::Contains("nvvm.mma.sync"));
  auto spec = cuda::parseGemmLaunchSpec(src->launch);
  REQUIRE(spec.isOk());
  REQUIRE(spec->pointers);
  REQUIRE_FALSE(spec->persistent);
  REQUIRE(spec->threads == 128);
  // One CTA per 64 x 64 tile: 16 x 16.
  REQUIRE(cuda::gemmGridSize(*spec, p, 132) == 256);
}

TEST_CASE("the MLIR CUDA family serves an f32 C; the HIP one does not") {
  CudaGemmMlir t;
  const TargetDesc sm90 = *parseTarget("cuda:sm_90a");
  for (DType dt : {DType::BF16, DType::F16}) {
    GemmProblem narrow = test::gemmProblem("TN", 1000, 999, 4095, dt);
    GemmProblem p = narrow;
    p.outF32 = true;
    INFO(p.key());
    REQUIRE(t.supports(p, sm90));
    auto space = t.space(p, sm90);
    REQUIRE(space.size() >= 10);
    REQUIRE(space == t.space(narrow, sm90));
    auto src = t.instantiate(space.front(), p, sm90);
    REQUIRE(src.isOk());
    // C is an f32 memref, read and stored without widening or rounding;
    // A and B keep their type.
    REQUIRE_THAT(src->text, Catch::Contains("%C: memref<1000x999xf32>"));
    REQUIRE_THAT(src->text,
                 Catch::Contains(std::string("%A: memref<4095x1000x") +
                                 (dt == DType::BF16 ? "bf16>" : "f16>")));
    REQUIRE_THAT(src->text, !Catch::Contains("arith.truncf"));
    REQUIRE_THAT(src->text, !Catch::Contains("arith.extf"));
    auto same = t.instantiate(space.front(), narrow, sm90);
    REQUIRE(same.isOk());
    REQUIRE(src->launch == same->launch);
    REQUIRE_THAT(same->text, Catch::Contains("arith.truncf"));
  }

  // hip.gemm.mlir shares the skeleton but offers no f32 C.
  HipGemmMlir hip;
  const TargetDesc gfx950 = *parseTarget("hip:gfx950");
  GemmProblem p = test::gemmProblem("NT", 1024, 1024, 1024, DType::BF16);
  REQUIRE(hip.supports(p, gfx950));
  const Config c = hip.defaultConfig(p, gfx950);
  p.outF32 = true;
  REQUIRE_FALSE(hip.supports(p, gfx950));
  REQUIRE(hip.space(p, gfx950).empty());
  Status s = hip.validate(c, p, gfx950);
  REQUIRE_FALSE(s.isOk());
  REQUIRE_THAT(s.message(), Catch::Contains("f32 output"));
  REQUIRE_FALSE(hip.instantiate(c, p, gfx950).isOk());
}
