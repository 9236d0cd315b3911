// cuda.gemm.sm100's space, compile-free validate() and instruction
// descriptor.
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmSm100.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
TargetDesc sm100() { return *parseTarget("cuda:sm_100a"); }
GemmProblem bf16(const char *layout, int64_t m, int64_t n, int64_t k) {
  return test::gemmProblem(layout, m, n, k, DType::BF16);
}
Config cfg(int64_t bn, int64_t stages, int64_t acc) {
  return {{"bn", bn}, {"stages", stages}, {"acc", acc}, {"group", 8}};
}
} // namespace

TEST_CASE("sm100 serves bf16/f16 on sm_100a only") {
  CudaGemmSm100 t;
  for (const char *l : {"NN", "NT", "TN", "TT"}) {
    REQUIRE(t.supports(bf16(l, 4096, 4096, 4096), sm100()));
  }
  REQUIRE_FALSE(
      t.supports(bf16("NT", 64, 64, 64), *parseTarget("cuda:sm_90a")));
  REQUIRE_FALSE(t.supports(test::gemmProblem("NT", 64, 64, 64), sm100()));
  REQUIRE_FALSE(t.supports(bf16("NT", 64, 64, 4095), sm100()));
}

TEST_CASE("sm100 validate() names shared- and tensor-memory limits") {
  CudaGemmSm100 t;
  GemmProblem p = bf16("NT", 4096, 4096, 4096);
  REQUIRE(t.validate(cfg(256, 4, 2), p, sm100()).isOk());
  auto msg = [&](const Config &c) {
    Status s = t.validate(c, p, sm100());
    REQUIRE_FALSE(s.isOk());
    return s.message();
  };
  // 5 stages x (128 + 256) x 64 x 2 B = 240 KiB > 227 KiB.
  REQUIRE_THAT(msg(cfg(256, 5, 2)), Catch::Contains("shared memory"));
  REQUIRE_THAT(msg(cfg(192, 4, 2)), Catch::Contains("bn=192"));
  REQUIRE_THAT(msg(cfg(128, 4, 3)), Catch::Contains("acc=3"));
  REQUIRE_THAT(msg(cfg(128, 9, 1)), Catch::Contains("stages=9"));
  REQUIRE_THAT(msg({{"bn", 128}}), Catch::Contains("lacks"));
}

TEST_CASE("the sm100 space is legal and starts with the default") {
  CudaGemmSm100 t;
  for (GemmProblem p : {bf16("NT", 4096, 4096, 4096), bf16("NN", 16, 64, 4096),
                        bf16("TT", 512, 2880, 2880)}) {
    INFO(p.key());
    auto space = t.space(p, sm100());
    REQUIRE(space.size() >= 4);
    REQUIRE(space.front() == t.defaultConfig(p, sm100()));
    for (const Config &c : space) {
      REQUIRE(t.validate(c, p, sm100()).isOk());
    }
  }
}

TEST_CASE("sm100 instances carry the tcgen05 instruction descriptor") {
  CudaGemmSm100 t;
  // bf16 NT, N = 256: f32 D (bit 4), bf16 A and B (bits 7, 10), both
  // K-major, N/8 = 32 at bit 17, M/16 = 8 at bit 24.
  auto nt =
      t.instantiate(cfg(256, 4, 2), bf16("NT", 4096, 4096, 4096), sm100());
  REQUIRE(nt.isOk());
  const uint32_t want =
      (1u << 4) | (1u << 7) | (1u << 10) | (32u << 17) | (8u << 24);
  REQUIRE_THAT(nt->text,
               Catch::Contains("#define KT_IDESC " + std::to_string(want)));
  // fp16 TN, N = 64: f16 formats (0), A M-major (bit 15), B N-major
  // (bit 16).
  GemmProblem tn = test::gemmProblem("TN", 4096, 4096, 4096, DType::F16);
  auto src = t.instantiate(cfg(64, 4, 1), tn, sm100());
  REQUIRE(src.isOk());
  const uint32_t want2 =
      (1u << 4) | (1u << 15) | (1u << 16) | (8u << 17) | (8u << 24);
  REQUIRE_THAT(src->text,
               Catch::Contains("#define KT_IDESC " + std::to_string(want2)));
  auto spec = cuda::parseGemmLaunchSpec(src->launch);
  REQUIRE(spec.isOk());
  REQUIRE(spec->threads == 192);
  REQUIRE(spec->tileM == 128);
  REQUIRE(spec->boxARows == 64); // A stored K x M: 64 x 64 boxes.
  REQUIRE(spec->boxBRows == 64);
}

TEST_CASE("sm100 serves an f32 C of bf16/f16 inputs with the same space") {
  CudaGemmSm100 t;
  for (DType dt : {DType::BF16, DType::F16}) {
    for (GemmProblem narrow : {test::gemmProblem("NT", 4096, 4096, 4096, dt),
                               test::gemmProblem("NN", 16, 4096, 4096, dt),
                               test::gemmProblem("TT", 512, 2880, 2880, dt)}) {
      GemmProblem p = narrow;
      p.outF32 = true;
      INFO(p.key());
      REQUIRE(t.supports(p, sm100()));
      auto space = t.space(p, sm100());
      REQUIRE(space.size() >= 4);
      for (const Config &c : space) {
        REQUIRE(t.validate(c, p, sm100()).isOk());
      }
      // Nothing in the space or the launch depends on C's element size.
      REQUIRE(space == t.space(narrow, sm100()));
      for (const Config &c : {space.front(), space.back()}) {
        auto wide = t.instantiate(c, p, sm100());
        auto same = t.instantiate(c, narrow, sm100());
        REQUIRE((wide.isOk() && same.isOk()));
        REQUIRE(wide->launch == same->launch);
        REQUIRE_THAT(wide->text, Catch::Contains("#define KT_OUT_F32 1"));
        REQUIRE_THAT(wide->text, Catch::Contains("float *__restrict__ C"));
        REQUIRE_THAT(wide->text, Catch::Contains("float *c = C + "));
        REQUIRE_THAT(wide->text, !Catch::Contains("#if KT_OUT_F32"));
        REQUIRE_THAT(wide->text, !Catch::Contains("kt_pack"));
        REQUIRE_THAT(same->text, !Catch::Contains("KT_OUT_F32"));
        REQUIRE_THAT(same->text, Catch::Contains("u16 *c = C + "));
      }
    }
  }
  GemmProblem odd = test::gemmProblem("NT", 1000, 1001, 4096, DType::F16);
  odd.outF32 = true;
  REQUIRE_FALSE(t.supports(odd, sm100()));
}
