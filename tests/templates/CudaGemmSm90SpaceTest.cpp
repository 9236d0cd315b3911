// cuda.gemm.sm90's space and compile-free validate(): every rejection names
// the parameter and the limit, and every configuration offered is legal.
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
TargetDesc sm90() { return *parseTarget("cuda:sm_90a"); }
GemmProblem bf16(const char *layout, int64_t m, int64_t n, int64_t k) {
  return test::gemmProblem(layout, m, n, k, DType::BF16);
}
Config cfg(int64_t bm, int64_t bn, int64_t stages, int64_t cons,
           int64_t group = 8) {
  return {{"bm", bm},
          {"bn", bn},
          {"stages", stages},
          {"cons", cons},
          {"group", group}};
}
} // namespace

TEST_CASE("sm90 serves bf16/f16 with 16-byte row pitches on sm_90a only") {
  CudaGemmSm90 t;
  for (const char *l : {"NN", "NT", "TN", "TT"}) {
    REQUIRE(t.supports(bf16(l, 4096, 4096, 4096), sm90()));
  }
  REQUIRE(
      t.supports(test::gemmProblem("NT", 1, 4096, 4096, DType::F16), sm90()));
  REQUIRE_FALSE(t.supports(test::gemmProblem("NT", 64, 64, 64), sm90()));
  REQUIRE_FALSE(t.supports(bf16("NT", 64, 64, 64), *parseTarget("cpu")));
  REQUIRE_FALSE(
      t.supports(bf16("NT", 64, 64, 64), *parseTarget("cuda:sm_100a")));
  // K = 4095 packed: lda = 4095 is not a multiple of 8.
  REQUIRE_FALSE(t.supports(bf16("NT", 64, 64, 4095), sm90()));
  // Ragged sizes with padded leading dimensions are fine.
  GemmProblem ragged = bf16("NN", 1000, 999, 4095);
  ragged.lda = 4096;
  ragged.ldb = 1000;
  ragged.ldc = 1000;
  REQUIRE(t.supports(ragged, sm90()));
}

TEST_CASE("sm90 validate() names the limit a configuration breaks") {
  CudaGemmSm90 t;
  GemmProblem p = bf16("NT", 4096, 4096, 4096);
  REQUIRE(t.validate(cfg(128, 256, 4, 2), p, sm90()).isOk());
  auto msg = [&](const Config &c) {
    Status s = t.validate(c, p, sm90());
    REQUIRE_FALSE(s.isOk());
    return s.message();
  };
  // 5 stages of 128x64 + 256x64 bf16 = 240 KiB > 227 KiB.
  REQUIRE_THAT(msg(cfg(128, 256, 5, 2)), Catch::Contains("shared memory"));
  // 256 rows over 2 consumers x 256 columns = 256 accumulators a thread.
  REQUIRE_THAT(msg(cfg(256, 256, 2, 2)), Catch::Contains("accumulators"));
  REQUIRE_THAT(msg(cfg(64, 128, 4, 2)), Catch::Contains("multiple of 64"));
  REQUIRE_THAT(msg(cfg(128, 96, 4, 2)), Catch::Contains("bn=96"));
  REQUIRE_THAT(msg(cfg(128, 128, 1, 2)), Catch::Contains("stages=1"));
  REQUIRE_THAT(msg(cfg(128, 128, 4, 3)), Catch::Contains("cons=3"));
  REQUIRE_THAT(msg({{"bm", 128}, {"bn", 128}}), Catch::Contains("lacks"));
  Config split = cfg(64, 128, 4, 1);
  split.set("splitk", 3);
  REQUIRE_THAT(msg(split), Catch::Contains("splitk=3"));
  // K = 128 has 2 blocks of 64: 4 slices would leave two empty.
  split.set("splitk", 4);
  Status few = t.validate(split, bf16("NT", 16, 4096, 128), sm90());
  REQUIRE_THAT(few.message(), Catch::Contains("exceeds"));
  Status wrongTarget =
      t.validate(cfg(128, 128, 4, 2), p, *parseTarget("cuda:sm_100a"));
  REQUIRE_THAT(wrongTarget.message(), Catch::Contains("sm_90a"));
}

TEST_CASE("the sm90 space is legal, starts with the default, fits the "
          "problem") {
  CudaGemmSm90 t;
  for (GemmProblem p :
       {bf16("NT", 4096, 4096, 4096), bf16("NN", 1, 4096, 4096),
        bf16("TN", 16, 14336, 4096), bf16("TT", 512, 2880, 2880)}) {
    INFO(p.key());
    auto space = t.space(p, sm90());
    REQUIRE(space.size() >= 8);
    REQUIRE(space.front() == t.defaultConfig(p, sm90()));
    for (const Config &c : space) {
      INFO(c.toString());
      REQUIRE(t.validate(c, p, sm90()).isOk());
      REQUIRE(CudaGemmSm90::sharedBytes(c) <= 232448);
    }
  }
  // Decode shapes: no tile taller than needed beyond one m64 block, and
  // split-K offered (32 tiles of 64 x 128 leave most of 132 SMs idle).
  bool splitOffered = false;
  for (const Config &c : t.space(bf16("NT", 16, 4096, 4096), sm90())) {
    REQUIRE(c.get("bm") == 64);
    splitOffered |= c.get("splitk", 1) > 1;
  }
  REQUIRE(splitOffered);
  REQUIRE(t.defaultConfig(bf16("NT", 16, 4096, 4096), sm90()).get("splitk") ==
          8);
  // Large problems have tiles enough: no split-K.
  for (const Config &c : t.space(bf16("NT", 4096, 4096, 4096), sm90())) {
    REQUIRE(c.get("splitk", 1) == 1);
  }
}

TEST_CASE("an sm90 instance carries a launch description that parses") {
  CudaGemmSm90 t;
  for (const char *l : {"NN", "NT", "TN", "TT"}) {
    GemmProblem p = bf16(l, 1000, 999, 4096);
    p.ldb = p.transB ? 4096 : 1000;
    p.ldc = 1000;
    INFO(l);
    auto src = t.instantiate(cfg(128, 192, 4, 2), p, sm90());
    REQUIRE(src.isOk());
    REQUIRE(src->language == "cuda");
    REQUIRE(src->entry == "kt_gemm");
    REQUIRE_THAT(src->text, Catch::Contains("m64n192k16.f32.bf16.bf16"));
    auto spec = cuda::parseGemmLaunchSpec(src->launch);
    REQUIRE(spec.isOk());
    REQUIRE(spec->threads == 384);
    REQUIRE(spec->sharedBytes ==
            CudaGemmSm90::sharedBytes(cfg(128, 192, 4, 2)));
    REQUIRE(spec->tileM == 128);
    REQUIRE(spec->tileN == 192);
    // Boxes are 64 elements (128 bytes) wide, the swizzle span.
    REQUIRE(spec->boxACols == 64);
    REQUIRE(spec->boxBCols == 64);
    REQUIRE(spec->boxARows == (p.transA ? 64 : 128));
    REQUIRE(spec->boxBRows == (p.transB ? 192 : 64));
    // Persistent: never more CTAs than SMs or tiles.
    REQUIRE(cuda::gemmGridSize(*spec, p, 132) == 48);
    REQUIRE(cuda::gemmGridSize(*spec, bf16(l, 8192, 8192, 64), 132) == 132);
    REQUIRE(cuda::gemmWorkspaceBytes(*spec, p) == 0);
  }
  // Split-K: twice the work units, a workspace of f32 tiles per slice and
  // one semaphore per tile and consumer.
  Config split = cfg(128, 192, 4, 2);
  split.set("splitk", 2);
  GemmProblem p = bf16("NT", 1000, 999, 4096);
  p.ldc = 1000;
  auto src = t.instantiate(split, p, sm90());
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  REQUIRE_THAT(src->text, Catch::Contains("#define KT_SPLIT 2"));
  auto spec = cuda::parseGemmLaunchSpec(src->launch);
  REQUIRE(spec.isOk());
  REQUIRE(spec->split == 2);
  REQUIRE(spec->semaphoresPerTile == 2);
  REQUIRE(cuda::gemmGridSize(*spec, p, 132) == 96);
  REQUIRE(cuda::gemmWorkspaceBytes(*spec, p) == 48ull * 2 * 128 * 192 * 4);
  REQUIRE(cuda::gemmSemaphores(*spec, p) == 96);
  auto bad = t.instantiate(cfg(128, 256, 8, 2), bf16("NT", 64, 64, 64), sm90());
  REQUIRE_FALSE(bad.isOk());
}

TEST_CASE("sm90 serves an f32 C of bf16/f16 inputs with the same space") {
  CudaGemmSm90 t;
  for (DType dt : {DType::BF16, DType::F16}) {
    for (GemmProblem narrow : {test::gemmProblem("NT", 4096, 4096, 4096, dt),
                               test::gemmProblem("TN", 16, 4096, 4096, dt),
                               test::gemmProblem("TT", 1000, 1000, 4096, dt)}) {
      GemmProblem p = narrow;
      p.outF32 = true;
      INFO(p.key());
      REQUIRE(t.supports(p, sm90()));
      auto space = t.space(p, sm90());
      REQUIRE(space.size() >= 8);
      for (const Config &c : space) {
        REQUIRE(t.validate(c, p, sm90()).isOk());
      }
      // Nothing in the space or the launch depends on C's element size
      // (no C staging in shared memory; the split-K workspace is f32
      // either way).
      REQUIRE(space == t.space(narrow, sm90()));
      for (const Config &c : {space.front(), space.back()}) {
        auto wide = t.instantiate(c, p, sm90());
        auto same = t.instantiate(c, narrow, sm90());
        REQUIRE((wide.isOk() && same.isOk()));
        REQUIRE(wide->launch == same->launch);
        REQUIRE_THAT(wide->text, Catch::Contains("#define KT_OUT_F32 1"));
        REQUIRE_THAT(wide->text, Catch::Contains("float *__restrict__ C"));
        REQUIRE_THAT(wide->text, !Catch::Contains("#if KT_OUT_F32"));
        REQUIRE_THAT(wide->text, !Catch::Contains("kt_pack"));
        REQUIRE_THAT(same->text, !Catch::Contains("KT_OUT_F32"));
        REQUIRE_THAT(same->text, Catch::Contains("u16 *__restrict__ C"));
      }
    }
  }
  // f32 C rows keep the ldc rule (aligned float2 stores).
  GemmProblem odd = test::gemmProblem("NT", 1000, 1001, 4096, DType::BF16);
  odd.outF32 = true;
  REQUIRE_FALSE(t.supports(odd, sm90()));
  REQUIRE(t.space(odd, sm90()).empty());
}
