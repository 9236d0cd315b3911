// Every sampled cuda.gemm.sm90 configuration compiles for sm_90a through
// NVRTC without a GPU, issues the wgmma shape, types and transposes its
// layout asks for, loads through TMA, and stays within the chip's limits per
// ptxas: no spills, no serialised wgmma, registers within the launch bound.
// Pairs of CTAs (cluster = 2) multicast B and synchronise across the
// cluster; single CTAs use none of that.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "support/CudaGemmCompile.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace kt;

namespace {

Config cfg(int64_t bm, int64_t bn, int64_t stages, int64_t cons,
           int64_t splitk = 1) {
  return {{"bm", bm},     {"bn", bn},   {"stages", stages},
          {"cons", cons}, {"group", 8}, {"splitk", splitk}};
}

Config paired(Config c) {
  c.set("cluster", 2);
  return c;
}

/// What only a cluster kernel's PTX holds: multicast loads, the remote
/// arrive on the other CTA's barrier (mapa + shared::cluster), the cluster
/// barrier and the CTA's rank in its cluster.
const char *const kClusterPtx[] = {
    ".multicast::cluster",
    "mapa.shared::cluster",
    "mbarrier.arrive.release.cluster.shared::cluster.b64",
    "barrier.cluster.arrive",
    "barrier.cluster.wait",
    "%cluster_ctarank"};

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
        for (const char *only : kClusterPtx) {
          REQUIRE_THAT(bin.ptx, !Catch::Contains(only));
        }
        test::sassContains(bin, "HGMMA\\.64x" + std::to_string(c.get("bn")) +
                                    "x16\\.F32");
      }
    }
  }
}

TEST_CASE("sm90 pairs of CTAs multicast B within sm_90a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm90 t;
  const TargetDesc target = compiler->target();
  // The widest tiles with both consumer counts, bn = 192 (halves of 96
  // rows), the narrowest B that still splits, and split-K.
  const Config sample[] = {
      paired(cfg(128, 256, 4, 2)), paired(cfg(256, 128, 4, 2)),
      paired(cfg(64, 256, 4, 1)),  paired(cfg(128, 192, 4, 2)),
      paired(cfg(128, 64, 8, 1)),  paired(cfg(64, 128, 6, 1, 4))};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        INFO(p.key() << " " << c.toString());
        const int threads = int(128 * (c.get("cons") + 1));
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, threads);
        const char *ty = dt == DType::BF16 ? "bf16" : "f16";
        REQUIRE_THAT(bin.ptx,
                     Catch::Contains("wgmma.mma_async.sync.aligned.m64n" +
                                     std::to_string(c.get("bn")) + "k16.f32." +
                                     ty + "." + ty));
        for (const char *only : kClusterPtx) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(only));
        }
        // The producer waits for both CTAs' releases at cluster scope.
        REQUIRE_THAT(bin.ptx,
                     Catch::Contains("mbarrier.try_wait.parity.acquire."
                                     "cluster.shared::cta.b64"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("fence.mbarrier_init.release."
                                              "cluster"));
        if (c.get("splitk") > 1) {
          REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
        }
        // Launched as clusters of 2, each CTA loading half of B's rows.
        auto src = t.instantiate(c, p, target);
        REQUIRE(src.isOk());
        auto spec = cuda::parseGemmLaunchSpec(src->launch);
        REQUIRE(spec.isOk());
        REQUIRE(spec->clusterM == 2);
        REQUIRE(spec->clusterN == 1);
        REQUIRE(spec->boxBRows == (p.transB ? c.get("bn") / 2 : 32));
        REQUIRE(spec->boxBCols == 64);
        // One cluster per unit (a K slice of a tile pair), at most one CTA
        // per SM: never half a cluster, even with an odd SM count.
        const int64_t bm = c.get("bm"), bn = c.get("bn");
        const int64_t units = (1000 + 2 * bm - 1) / (2 * bm) *
                              ((1000 + bn - 1) / bn) * c.get("splitk");
        REQUIRE(cuda::gemmGridSize(*spec, p, 131) ==
                2 * std::min<int64_t>(units, 65));
        test::sassContains(bin, "HGMMA\\.64x" + std::to_string(c.get("bn")) +
                                    "x16\\.F32");
      }
    }
  }
}

TEST_CASE("sm90 kernels with an f32 C store f32 within sm_90a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm90 t;
  // The widest tile, one consumer with split-K (the last slice stores),
  // two consumers with split-K, and pairs of CTAs with and without it.
  const Config sample[] = {cfg(128, 256, 4, 2), cfg(64, 128, 6, 1, 8),
                           cfg(128, 128, 4, 2, 4), paired(cfg(128, 256, 4, 2)),
                           paired(cfg(64, 128, 6, 1, 4))};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        p.outF32 = true;
        INFO(p.key() << " " << c.toString());
        const int threads = int(128 * (c.get("cons") + 1));
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, threads);
        const char *ty = dt == DType::BF16 ? "bf16" : "f16";
        REQUIRE_THAT(bin.ptx,
                     Catch::Contains("wgmma.mma_async.sync.aligned.m64n" +
                                     std::to_string(c.get("bn")) + "k16.f32." +
                                     ty + "." + ty));
        test::requireF32Epilogue(bin.ptx);
        test::requireSplitKAndClusterPtx(bin.ptx, c, kClusterPtx);
      }
    }
  }
  // The check tells the two apart: a 16-bit C packs with cvt.rn.
  GemmProblem narrow = test::sampledCudaProblem("NT", DType::BF16);
  CudaKernelBinary bin =
      test::compileWithinLimits(*compiler, t, sample[0], narrow, 384);
  REQUIRE_THAT(bin.ptx, Catch::Contains("cvt.rn.bf16x2.f32"));
  REQUIRE_THAT(bin.ptx, !Catch::Contains("st.global.v2.f32"));
}

TEST_CASE("sm90 cluster blocks are resolved when the text is generated") {
  CudaGemmSm90 t;
  const TargetDesc target = *parseTarget("cuda:sm_90a");
  GemmProblem p = test::sampledCudaProblem("NT", DType::BF16);
  // cluster = 1 is the configuration without the key, and neither text
  // leaves the cluster choice to the CUDA preprocessor.
  Config one = cfg(128, 256, 4, 2);
  Config explicitOne = one;
  explicitOne.set("cluster", 1);
  auto single = t.instantiate(one, p, target);
  auto same = t.instantiate(explicitOne, p, target);
  auto pair = t.instantiate(paired(one), p, target);
  REQUIRE((single.isOk() && same.isOk() && pair.isOk()));
  REQUIRE(single->text == same->text);
  REQUIRE(single->launch == same->launch);
  REQUIRE_THAT(single->text, !Catch::Contains("KT_CLUSTER"));
  REQUIRE_THAT(single->text, !Catch::Contains("kt_cluster_sync"));
  REQUIRE_THAT(single->launch, !Catch::Contains("cluster"));
  REQUIRE_THAT(pair->text, Catch::Contains("#define KT_CLUSTER 2"));
  REQUIRE_THAT(pair->text, !Catch::Contains("#if KT_CLUSTER"));
  REQUIRE_THAT(pair->text, Catch::Contains("kt_cluster_sync();"));
  REQUIRE_THAT(pair->launch, Catch::Contains(";cluster=2x1"));
}

TEST_CASE("sm90 offers pairs of CTAs where tile pairs fill the SMs") {
  CudaGemmSm90 t;
  const TargetDesc target = *parseTarget("cuda:sm_90a");
  GemmProblem big = test::gemmProblem("NT", 4096, 4096, 4096, DType::BF16);
  Config three = cfg(128, 256, 4, 2);
  three.set("cluster", 3);
  Status bad = t.validate(three, big, target);
  REQUIRE_FALSE(bad.isOk());
  REQUIRE_THAT(bad.message(), Catch::Contains("cluster=3"));
  int pairs = 0;
  for (const Config &c : t.space(big, target)) {
    INFO(c.toString());
    if (c.get("cluster", 1) == 2) {
      ++pairs;
      REQUIRE(t.validate(c, big, target).isOk());
      REQUIRE(c.get("bn") >= 128);
      REQUIRE(c.get("splitk", 1) == 1);
    }
  }
  REQUIRE(pairs > 0);
  REQUIRE_FALSE(t.defaultConfig(big, target).has("cluster"));
  // Decode: one tile row, nothing to pair.
  for (const Config &c :
       t.space(test::gemmProblem("NT", 16, 4096, 4096, DType::BF16), target)) {
    REQUIRE(c.get("cluster", 1) == 1);
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
