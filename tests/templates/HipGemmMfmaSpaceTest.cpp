// hip.gemm.mfma's space and compile-free validate() against the real LDS,
// thread and register limits of gfx950 and gfx942.
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "ktune/templates/gemm/HipGemmMlir.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
Config cfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn, int64_t bk,
           int64_t pad = 8) {
  return {{"bm", bm}, {"bn", bn}, {"wm", wm},
          {"wn", wn}, {"bk", bk}, {"pad", pad}};
}
} // namespace

TEST_CASE("the MFMA family serves bf16/f16 on gfx950 and gfx942") {
  HipGemmMfma t;
  GemmProblem p = test::gemmProblem("TN", 1000, 1000, 1000, DType::BF16);
  p.lda = p.ldb = p.ldc = 1000;
  REQUIRE(t.supports(p, *parseTarget("hip:gfx950")));
  REQUIRE(t.supports(p, *parseTarget("hip:gfx942")));
  REQUIRE_FALSE(t.supports(p, *parseTarget("hip:gfx90a")));
  REQUIRE_FALSE(t.supports(p, *parseTarget("cuda:sm_90a")));
  p.lda = 1001;
  REQUIRE_FALSE(t.supports(p, *parseTarget("hip:gfx950")));
}

TEST_CASE("MFMA validate() uses each chip's LDS and the register file") {
  HipGemmMfma t;
  GemmProblem p = test::gemmProblem("NT", 4096, 4096, 4096, DType::F16);
  const TargetDesc mi355 = *parseTarget("hip:gfx950");
  const TargetDesc mi300 = *parseTarget("hip:gfx942");
  // 2 x (128 + 128) x (64 + 8) x 2 B = 72 KiB: fits gfx950's 160 KiB, not
  // gfx942's 64 KiB.
  REQUIRE(t.validate(cfg(128, 128, 64, 64, 64), p, mi355).isOk());
  Status lds = t.validate(cfg(128, 128, 64, 64, 64), p, mi300);
  REQUIRE_THAT(lds.message(), Catch::Contains("65536"));
  REQUIRE(HipGemmMfma::ldsBytes(cfg(128, 128, 64, 64, 64)) == 73728);
  auto msg = [&](const Config &c) {
    Status s = t.validate(c, p, mi355);
    REQUIRE_FALSE(s.isOk());
    return s.message();
  };
  REQUIRE_THAT(msg(cfg(256, 256, 16, 16, 32)), Catch::Contains("1024"));
  REQUIRE_THAT(msg(cfg(256, 256, 256, 256, 32)),
               Catch::Contains("accumulators"));
  REQUIRE_THAT(msg(cfg(128, 128, 24, 64, 64)), Catch::Contains("wm=24"));
  REQUIRE_THAT(msg(cfg(128, 128, 64, 64, 48)), Catch::Contains("bk=48"));
  REQUIRE_THAT(msg(cfg(128, 128, 64, 64, 64, 4)), Catch::Contains("pad=4"));
}

TEST_CASE("the MFMA space is legal on both chips and starts with the "
          "default") {
  HipGemmMfma t;
  for (const char *arch : {"hip:gfx950", "hip:gfx942"}) {
    const TargetDesc target = *parseTarget(arch);
    for (GemmProblem p :
         {test::gemmProblem("NT", 16, 4096, 4096, DType::BF16),
          test::gemmProblem("NN", 4096, 4096, 4096, DType::F16)}) {
      INFO(arch << " " << p.key());
      auto space = t.space(p, target);
      REQUIRE(space.size() >= 10);
      REQUIRE(space.front() == t.defaultConfig(p, target));
      for (const Config &c : space) {
        REQUIRE(t.validate(c, p, target).isOk());
        REQUIRE(HipGemmMfma::ldsBytes(c) <= HipGemmMfma::ldsLimit(target.arch));
      }
    }
  }
}

TEST_CASE("the MLIR MFMA family's space follows each chip's MFMA K") {
  HipGemmMlir t;
  GemmProblem p = test::gemmProblem("NT", 4096, 4096, 4096, DType::BF16);
  const TargetDesc mi355 = *parseTarget("hip:gfx950");
  const TargetDesc mi300 = *parseTarget("hip:gfx942");
  Config c{{"bm", 128}, {"bn", 128}, {"wm", 64}, {"wn", 64}, {"bk", 16}};
  // K=16 steps exist on gfx942's 16x16x16 MFMA, not on gfx950's 16x16x32.
  REQUIRE(t.validate(c, p, mi300).isOk());
  REQUIRE_THAT(t.validate(c, p, mi355).message(), Catch::Contains("K=32"));
  for (const TargetDesc &target : {mi355, mi300}) {
    auto space = t.space(p, target);
    REQUIRE(space.size() >= 10);
    REQUIRE(space.front() == t.defaultConfig(p, target));
    for (const Config &s : space) {
      REQUIRE(t.validate(s, p, target).isOk());
      REQUIRE(s.get("bk") % (target.arch == "gfx950" ? 32 : 16) == 0);
    }
  }
  auto src = t.instantiate(t.defaultConfig(p, mi355), p, mi355);
  REQUIRE(src.isOk());
  REQUIRE_THAT(src->text, Catch::Contains("#rocdl.target<chip = \"gfx950\">"));
  REQUIRE_THAT(src->text, Catch::Contains("amdgpu.mfma 16x16x32"));
}
