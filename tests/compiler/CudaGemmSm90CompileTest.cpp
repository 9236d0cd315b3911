// Every sampled cuda.gemm.sm90 configuration compiles for sm_90a through
// NVRTC without a GPU, issues the wgmma shape, types and transposes its
// layout asks for, loads through TMA, and stays within the chip's limits per
// ptxas: no spills, no serialised wgmma, registers within the launch bound.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "support/CudaGemmCompile.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

namespace {

Config cfg(int64_t bm, int64_t bn, int64_t stages, int64_t cons,
           int64_t splitk = 1) {
  return {{"bm", bm},     {"bn", bn},   {"stages", stages},
          {"cons", cons}, {"group", 8}, {"splitk", splitk}};
}

} // namespace

TEST_CASE("sampled sm90 configurations compile within sm_90a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm90 t;
  const TargetDesc target = compiler->target();
  // The extremes of the space: the largest tile at the largest stage count,
  // two m64 blocks per consumer, one consumer, the narrowest and an odd
  // multiple-of-64 width.
  const Config sample[] = {cfg(128, 256, 4, 2),   cfg(256, 128, 4, 2),
                           cfg(64, 256, 4, 1),    cfg(128, 64, 8, 1),
                           cfg(128, 192, 4, 2),   cfg(64, 128, 6, 1, 8),
                           cfg(128, 128, 4, 2, 4)};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        INFO(p.key() << " " << c.toString());
        const int threads = int(128 * (c.get("cons") + 1));
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, threads);
        const char *ty = dt == DType::BF16 ? "bf16" : "f16";
        const std::string mma = "wgmma.mma_async.sync.aligned.m64n" +
                                std::to_string(c.get("bn")) + "k16.f32." + ty +
                                "." + ty;
        REQUIRE_THAT(bin.ptx, Catch::Contains("cp.async.bulk.tensor.2d"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("mbarrier.try_wait.parity"));
        REQUIRE_THAT(bin.ptx, Catch::Contains(mma));
        // imm-trans-a: 1 for an M-major A (TN, TT); imm-trans-b: 1 for an
        // N-major B (NN, TN).
        const std::string bits = std::string(", p, 1, 1, ") +
                                 (p.transA ? "1" : "0") + ", " +
                                 (p.transB ? "0" : "1") + ";";
        REQUIRE_THAT(bin.ptx, Catch::Contains(bits));
        if (c.get("cons") == 2) {
          REQUIRE_THAT(bin.ptx, Catch::Contains("setmaxnreg.inc"));
        }
        if (c.get("splitk") > 1) {
          // The slices count in on the tile's semaphore.
          REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
        }
        REQUIRE(CudaGemmSm90::sharedBytes(c) <= 232448);
        test::sassContains(bin, "HGMMA\\.64x" + std::to_string(c.get("bn")) +
                                    "x16\\.F32");
      }
    }
  }
}

TEST_CASE("ptxas' report is parsed per kernel, warnings included") {
  const std::string log =
      "ptxas info    : 20 bytes gmem\n"
      "ptxas info    : Compiling entry function 'other' for 'sm_90a'\n"
      "ptxas info    : Function properties for other\n"
      "ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 "
      "bytes spill loads\n"
      "ptxas info    : Used 40 registers, used 0 barriers\n"
      "ptxas info    : Compiling entry function 'kt_gemm' for 'sm_90a'\n"
      "ptxas info    : Function properties for kt_gemm\n"
      "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 "
      "bytes spill loads\n"
      "ptxas /tmp/x, line 5; warning : Potential Performance Loss: "
      "wgmma.mma_async instructions are serialized due to ... in the "
      "function 'kt_gemm'\n"
      "ptxas info    : (C7517) warpgroup.wait is injected in around line 459 "
      "by compiler to allow use of registers defined by GMMA in function "
      "'kt_gemm'\n"
      "ptxas info    : Used 168 registers, used 1 barriers, 1024 bytes smem\n";
  auto r = parsePtxasReport(log, "kt_gemm");
  REQUIRE(r.isOk());
  REQUIRE(r->registers == 168);
  REQUIRE(r->spillStoreBytes == 0);
  REQUIRE(r->staticSharedBytes == 1024);
  REQUIRE(r->warnings.size() == 2);
  REQUIRE_THAT(r->warnings[0], Catch::Contains("serialized"));
  REQUIRE_THAT(r->warnings[1], Catch::Contains("injected"));
  auto other = parsePtxasReport(log, "other");
  REQUIRE(other->registers == 40);
  REQUIRE(other->spillStoreBytes == 4);
  REQUIRE(other->warnings.empty());
  REQUIRE_FALSE(parsePtxasReport(log, "absent").isOk());
}
