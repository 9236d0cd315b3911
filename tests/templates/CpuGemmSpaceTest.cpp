// The CPU GEMM family's space and compile-free validate().
#include "ktune/templates/gemm/CpuGemmMlir.h"
#include "support/CpuTargets.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

using test::avx2;

namespace {
GemmProblem problem(int64_t m, int64_t n, int64_t k) {
  return test::gemmProblem("NN", m, n, k);
}
} // namespace

TEST_CASE("every configuration of the space validates") {
  CpuGemmMlir t;
  for (auto p : {problem(1000, 1000, 1000), problem(1, 4096, 4096),
                 problem(777, 333, 555)}) {
    auto space = t.space(p, avx2());
    REQUIRE(space.size() > 50);
    for (const Config &c : space) {
      REQUIRE(t.validate(c, p, avx2()).isOk());
      REQUIRE(c.get("vw") == 8); // No AVX-512 on this target.
    }
    REQUIRE(t.validate(t.defaultConfig(p, avx2()), p, avx2()).isOk());
  }
}

TEST_CASE("validate rejects illegal configurations with a reason") {
  CpuGemmMlir t;
  GemmProblem p = problem(256, 256, 256);
  Config c = t.defaultConfig(p, avx2());
  Config big = c;
  big.set("mr", 8);
  big.set("nv", 4);
  auto s = t.validate(big, p, avx2());
  REQUIRE_FALSE(s.isOk());
  REQUIRE_THAT(s.message(), Catch::Contains("accumulators"));
  Config wide = c;
  wide.set("vw", 16);
  REQUIRE_THAT(t.validate(wide, p, avx2()).message(),
               Catch::Contains("avx512f"));
  Config odd = c;
  odd.set("mc", c.get("mr") * 3 + 1);
  REQUIRE_THAT(t.validate(odd, p, avx2()).message(),
               Catch::Contains("multiple of mr"));
  Config missing;
  REQUIRE_THAT(t.validate(missing, p, avx2()).message(),
               Catch::Contains("lacks parameter"));
  GemmProblem f16 = p;
  f16.dtype = DType::F16;
  REQUIRE_FALSE(t.supports(f16, avx2()));
}

TEST_CASE("instantiate specialises shapes and leading dimensions") {
  CpuGemmMlir t;
  GemmProblem p = problem(100, 70, 50);
  p.transB = true;
  p.ldb = 64;
  auto src = t.instantiate(t.defaultConfig(p, avx2()), p, avx2());
  REQUIRE(src.isOk());
  REQUIRE_THAT(src->text,
               Catch::Contains("memref<70x50xf32, strided<[64, 1]>>"));
  REQUIRE_THAT(src->text, Catch::Contains("@__transform_main"));
  REQUIRE_THAT(src->text, Catch::Contains("linalg.transpose"));
  REQUIRE(t.sourceHash().size() == 16);
}
