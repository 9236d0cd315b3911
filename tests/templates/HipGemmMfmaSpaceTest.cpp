// hip.gemm.mfma's space and compile-free validate() against the real LDS,
// thread and register limits of gfx950 and gfx942; the 32x32 blocks, split-K
// and unroll parameters; f32-output problems.
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
  // One wave of 128 x 128: 256 accumulators and 2 x 32 chunks of 16 bytes
  // in flight per lane do not fit beside each other.
  REQUIRE_THAT(msg(cfg(128, 128, 128, 128, 128)), Catch::Contains("384"));
}

TEST_CASE("MFMA validate() names bad mi, splitk and unroll values") {
  HipGemmMfma t;
  GemmProblem p = test::gemmProblem("NT", 4096, 4096, 4096, DType::BF16);
  const TargetDesc mi355 = *parseTarget("hip:gfx950");
  auto with = [](const char *key, int64_t v,
                 Config c = cfg(128, 128, 64, 64, 64)) {
    c.set(key, v);
    return c;
  };
  auto msg = [&](const Config &c) {
    Status s = t.validate(c, p, mi355);
    REQUIRE_FALSE(s.isOk());
    return s.message();
  };
  REQUIRE(t.validate(with("mi", 32), p, mi355).isOk());
  REQUIRE(t.validate(with("splitk", 8), p, mi355).isOk());
  REQUIRE(t.validate(with("unroll", 2), p, mi355).isOk());
  REQUIRE_THAT(msg(with("mi", 24)), Catch::Contains("mi=24"));
  REQUIRE_THAT(msg(with("mi", 8)), Catch::Contains("mi=8"));
  REQUIRE_THAT(msg(with("splitk", 3)), Catch::Contains("splitk=3"));
  REQUIRE_THAT(msg(with("splitk", 16)), Catch::Contains("splitk=16"));
  REQUIRE_THAT(msg(with("unroll", 4)), Catch::Contains("unroll=4"));
  REQUIRE_THAT(msg(with("unroll", 0)), Catch::Contains("unroll=0"));
  // 32x32 blocks need wave tiles that are multiples of 32.
  REQUIRE_THAT(msg(with("mi", 32, cfg(128, 128, 16, 64, 64))),
               Catch::Contains("wm=16"));
  // K = 104 has two K steps of bk = 64: four slices would leave two empty.
  GemmProblem shortK = test::gemmProblem("NT", 64, 64, 104, DType::BF16);
  Status s = t.validate(with("splitk", 4), shortK, mi355);
  REQUIRE_THAT(s.message(), Catch::Contains("splitk=4"));
  REQUIRE(t.validate(with("splitk", 2), shortK, mi355).isOk());
  // Accumulators per lane are wm * wn / 64 whatever the block.
  Config big = with("mi", 32, cfg(256, 256, 256, 64, 32));
  REQUIRE(t.validate(big, p, mi355).isOk());
  big.set("wn", 128);
  REQUIRE_THAT(msg(big), Catch::Contains("accumulators"));
}

TEST_CASE("MFMA configurations stored before mi, splitk and unroll read as "
          "16, 1 and 1") {
  HipGemmMfma t;
  GemmProblem p = test::gemmProblem("TN", 1000, 1000, 1000, DType::F16);
  p.lda = p.ldb = p.ldc = 1000;
  const TargetDesc mi355 = *parseTarget("hip:gfx950");
  Config old = cfg(128, 128, 64, 64, 64);
  Config now = old;
  now.set("mi", 16);
  now.set("splitk", 1);
  now.set("unroll", 1);
  auto a = t.instantiate(old, p, mi355);
  auto b = t.instantiate(now, p, mi355);
  REQUIRE(a.isOk());
  REQUIRE(b.isOk());
  REQUIRE(a->text == b->text);
  REQUIRE(a->launch == b->launch);
  REQUIRE(a->launch ==
          "threads=256;lds=73728;tile=128x128;grid=tiles;args=hip-pointers");
  REQUIRE_THAT(a->text, Catch::Contains("#define KT_MI 16"));
  REQUIRE_THAT(a->text, Catch::Contains("#define KT_SPLIT 1"));
  REQUIRE_THAT(a->text, Catch::Contains("#define KT_UNROLL 1"));
}

TEST_CASE("MFMA split-K is offered to skinny long-K problems and described "
          "in the launch") {
  HipGemmMfma t;
  for (const char *arch : {"hip:gfx950", "hip:gfx942"}) {
    const TargetDesc target = *parseTarget(arch);
    INFO(arch);
    // 16 x 4096 x 4096: 32 tiles of 32 x 128 for 256 / 304 compute units.
    GemmProblem skinny = test::gemmProblem("NT", 16, 4096, 4096, DType::BF16);
    const Config d = t.defaultConfig(skinny, target);
    REQUIRE(d.get("splitk") == 8);
    auto src = t.instantiate(d, skinny, target);
    REQUIRE(src.isOk());
    REQUIRE_THAT(src->launch, Catch::EndsWith(";split=8;sems=1"));
    REQUIRE_THAT(src->text, Catch::Contains("#define KT_SPLIT 8"));
    bool split = false, mi32 = false, unroll2 = false;
    for (const Config &c : t.space(skinny, target)) {
      split |= c.get("splitk") > 1;
      mi32 |= c.get("mi") == 32;
      unroll2 |= c.get("unroll") == 2;
      // Every slice keeps at least two K steps.
      REQUIRE((4096 / c.get("bk")) / c.get("splitk") >= 2);
    }
    REQUIRE(split);
    REQUIRE(mi32);
    REQUIRE(unroll2);
    // 4096^3 in 128 x 128 tiles already fills the chip: no split by
    // default, none for tiles of 128 x 128 or smaller in the space.
    GemmProblem square = test::gemmProblem("NN", 4096, 4096, 4096, DType::F16);
    REQUIRE(t.defaultConfig(square, target).get("splitk") == 1);
    auto full = t.instantiate(t.defaultConfig(square, target), square, target);
    REQUIRE(full.isOk());
    REQUIRE_THAT(full->launch, !Catch::Contains("split="));
    for (const Config &c : t.space(square, target)) {
      if (c.get("bm") * c.get("bn") <= 128 * 128) {
        REQUIRE(c.get("splitk") == 1);
      }
    }
  }
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
      bool mi32 = false;
      for (const Config &c : space) {
        REQUIRE(t.validate(c, p, target).isOk());
        REQUIRE(HipGemmMfma::ldsBytes(c) <= HipGemmMfma::ldsLimit(target.arch));
        mi32 |= c.get("mi") == 32;
      }
      REQUIRE(mi32);
    }
  }
}

TEST_CASE("the MFMA family serves f32-output problems with the space of "
          "their 16-bit twins") {
  HipGemmMfma t;
  for (const char *arch : {"hip:gfx950", "hip:gfx942"}) {
    const TargetDesc target = *parseTarget(arch);
    for (GemmProblem p :
         {test::gemmProblem("NT", 16, 4096, 4096, DType::BF16),
          test::gemmProblem("TN", 1000, 1000, 1000, DType::F16),
          test::gemmProblem("NN", 4096, 4096, 4096, DType::BF16)}) {
      GemmProblem f32 = p;
      f32.outF32 = true;
      INFO(arch << " " << f32.key());
      REQUIRE(t.supports(f32, target));
      auto space = t.space(f32, target);
      REQUIRE_FALSE(space.empty());
      // Nothing in the space depends on C's element size.
      REQUIRE(space == t.space(p, target));
      REQUIRE(space.front() == t.defaultConfig(f32, target));
      for (const Config &c : space) {
        REQUIRE(t.validate(c, f32, target).isOk());
      }
      auto wide = t.instantiate(space.front(), f32, target);
      auto narrow = t.instantiate(space.front(), p, target);
      REQUIRE(wide.isOk());
      REQUIRE(narrow.isOk());
      REQUIRE(wide->launch == narrow->launch);
      REQUIRE_THAT(wide->text, Catch::Contains("float *__restrict__ C,"));
      REQUIRE_THAT(narrow->text, Catch::Contains("u16 *__restrict__ C,"));
      REQUIRE_THAT(narrow->text, !Catch::Contains("float *__restrict__ C,"));
    }
  }
  // f32 A and B are not the family's, f32 C or not.
  GemmProblem f32in = test::gemmProblem("NT", 64, 64, 64, DType::F32);
  f32in.outF32 = true;
  REQUIRE_FALSE(t.supports(f32in, *parseTarget("hip:gfx950")));
  REQUIRE(t.space(f32in, *parseTarget("hip:gfx950")).empty());
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
