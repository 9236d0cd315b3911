// Every sampled cuda.gemm.sm100 configuration compiles for sm_100a through
// NVRTC without a GPU, uses the tcgen05 MMA / tensor-memory instructions and
// TMA, and stays within the chip's limits per ptxas. No sm_100 GPU exists
// here: this is as far as these kernels are verified.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/templates/gemm/CudaGemmSm100.h"
#include "support/CudaGemmCompile.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

TEST_CASE("sampled sm100 configurations compile within sm_100a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm100 t;
  const TargetDesc target = compiler->target();
  const Config sample[] = {
      {{"bn", 256}, {"stages", 4}, {"acc", 2}, {"group", 8}},
      {{"bn", 128}, {"stages", 6}, {"acc", 1}, {"group", 1}},
      {{"bn", 64}, {"stages", 8}, {"acc", 2}, {"group", 8}},
      // Split-K: the slices meet in the workspace.
      {{"bn", 128}, {"stages", 6}, {"acc", 2}, {"group", 1}, {"splitk", 4}},
      {{"bn", 256}, {"stages", 4}, {"acc", 1}, {"group", 8}, {"splitk", 2}}};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        INFO(p.key() << " " << c.toString());
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, 192);
        REQUIRE_THAT(bin.ptx, Catch::Contains("cp.async.bulk.tensor.2d"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("mbarrier.try_wait.parity"));
        for (const char *insn :
             {"tcgen05.mma.cta_group::1.kind::f16", "tcgen05.alloc",
              "tcgen05.commit", "tcgen05.ld.sync.aligned.32x32b.x16",
              "tcgen05.dealloc"}) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(insn));
        }
        if (c.get("splitk", 1) > 1) {
          REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
        }
        REQUIRE(CudaGemmSm100::sharedBytes(c) <= 232448);
        // The tcgen05 MMA family in SASS (UTC*MMA; UTCHMMA for 16-bit
        // inputs).
        test::sassContains(bin, "UTC[A-Z]*MMA");
      }
    }
  }
}

TEST_CASE("sm100 offers split-K to skinny problems only") {
  CudaGemmSm100 t;
  const TargetDesc target = *parseTarget("cuda:sm_100a");
  GemmProblem skinny = test::gemmProblem("NT", 16, 4096, 4096, DType::BF16);
  REQUIRE(t.defaultConfig(skinny, target).get("splitk") > 1);
  bool split = false;
  for (const Config &c : t.space(skinny, target)) {
    REQUIRE(t.validate(c, skinny, target).isOk());
    split = split || c.get("splitk") > 1;
  }
  REQUIRE(split);
  GemmProblem big = test::gemmProblem("NT", 8192, 8192, 8192, DType::BF16);
  for (const Config &c : t.space(big, target)) {
    REQUIRE(c.get("splitk") == 1);
  }
  Config c = t.defaultConfig(skinny, target);
  c.set("splitk", 3);
  REQUIRE_THAT(t.validate(c, skinny, target).message(),
               Catch::Contains("splitk=3"));
}

TEST_CASE("tcgen05 is sm_100a-only: ptxas rejects it for sm_90a") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm100 t;
  GemmProblem p = test::gemmProblem("NT", 256, 256, 256, DType::BF16);
  auto src = t.instantiate(t.defaultConfig(p, *parseTarget("cuda:sm_100a")), p,
                           *parseTarget("cuda:sm_100a"));
  REQUIRE(src.isOk());
  auto bin = compiler->compile(*src, "wrong-arch");
  REQUIRE_FALSE(bin.isOk());
  REQUIRE_THAT(bin.status().message(), Catch::Contains("tcgen05"));
}
