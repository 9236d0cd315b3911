// The CPU dot-product GEMM family's space and compile-free validate().
#include "ktune/templates/gemm/CpuGemmDotMlir.h"
#include "support/CpuTargets.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

using test::avx2;
using test::avx512;

TEST_CASE("the dot family serves NT problems with K a multiple of 8 only") {
  CpuGemmDotMlir t;
  REQUIRE(t.supports(test::gemmProblem("NT", 16, 4096, 4096), avx2()));
  REQUIRE(t.supports(test::gemmProblem("NT", 1, 77, 2880), avx2()));
  REQUIRE_FALSE(t.supports(test::gemmProblem("NN", 16, 4096, 4096), avx2()));
  REQUIRE_FALSE(t.supports(test::gemmProblem("TT", 16, 4096, 4096), avx2()));
  REQUIRE_FALSE(t.supports(test::gemmProblem("NT", 16, 4096, 4095), avx2()));
  GemmProblem f16 = test::gemmProblem("NT", 16, 64, 64);
  f16.dtype = DType::F16;
  REQUIRE_FALSE(t.supports(f16, avx2()));
}

TEST_CASE("every configuration of the dot space validates") {
  CpuGemmDotMlir t;
  for (const TargetDesc &target : {avx2(), avx512()}) {
    for (auto p : {test::gemmProblem("NT", 1, 4096, 4096),
                   test::gemmProblem("NT", 16, 14336, 4096),
                   test::gemmProblem("NT", 128, 2880, 2880),
                   test::gemmProblem("NT", 3, 77, 40)}) {
      auto space = t.space(p, target);
      INFO(p.key() << " on " << target.featureString());
      REQUIRE(space.size() > 20);
      for (const Config &c : space) {
        REQUIRE(t.validate(c, p, target).isOk());
        REQUIRE(p.k % c.get("kc") == 0);
        if (!target.hasFeature("avx512f")) {
          REQUIRE(c.get("vw") == 8);
        }
      }
      REQUIRE(t.validate(t.defaultConfig(p, target), p, target).isOk());
    }
  }
}

TEST_CASE("dot validate rejects illegal configurations with a reason") {
  CpuGemmDotMlir t;
  GemmProblem p = test::gemmProblem("NT", 64, 256, 2880);
  Config c = t.defaultConfig(p, avx2());
  REQUIRE(t.validate(c, p, avx2()).isOk());
  Config big = c;
  big.set("mr", 4);
  big.set("nr", 4);
  big.set("mc", 64);
  big.set("nc", 256);
  REQUIRE_THAT(t.validate(big, p, avx2()).message(),
               Catch::Contains("vector registers"));
  REQUIRE(t.validate(big, p, avx512()).isOk());
  Config kc = c;
  kc.set("kc", 1000); // Does not divide 2880.
  REQUIRE_THAT(t.validate(kc, p, avx2()).message(),
               Catch::Contains("divides K=2880"));
  Config wide = c;
  wide.set("vw", 16);
  REQUIRE_THAT(t.validate(wide, p, avx2()).message(),
               Catch::Contains("avx512f"));
  GemmProblem k8 = test::gemmProblem("NT", 4, 64, 40);
  Config k8c = t.defaultConfig(k8, avx512());
  k8c.set("vw", 16);
  REQUIRE_THAT(t.validate(k8c, k8, avx512()).message(),
               Catch::Contains("not a multiple of vw=16"));
  REQUIRE_THAT(
      t.validate(c, test::gemmProblem("TN", 64, 256, 2880), avx2()).message(),
      Catch::Contains("NT"));
}

TEST_CASE("the dot family's source has no copy of B and sums lanes once") {
  CpuGemmDotMlir t;
  GemmProblem p = test::gemmProblem("NT", 5, 100, 64);
  p.ldb = 80;
  auto src = t.instantiate(t.defaultConfig(p, avx2()), p, avx2());
  REQUIRE(src.isOk());
  REQUIRE_THAT(src->text, Catch::Contains("strided<[80, 1]>"));
  REQUIRE_THAT(src->text, Catch::Contains("math.fma"));
  REQUIRE_THAT(src->text, Catch::Contains("kt.sum"));
  REQUIRE(src->text.find("linalg.transpose") == std::string::npos);
}
