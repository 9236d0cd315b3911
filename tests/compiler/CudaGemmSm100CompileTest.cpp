// Every sampled cuda.gemm.sm100 configuration compiles for sm_100a through
// NVRTC without a GPU, uses the tcgen05 MMA / tensor-memory instructions and
// TMA, and stays within the chip's limits per ptxas. Pairs of CTAs
// (cluster = 2) multicast B, release stages with a multicast tcgen05.commit
// and synchronise across the cluster; single CTAs use none of that. No
// sm_100 GPU exists here: this is as far as these kernels are verified.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmSm100.h"
#include "support/CudaGemmCompile.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

using namespace kt;

namespace {

Config cfg(int64_t bn, int64_t stages, int64_t acc, int64_t group,
           int64_t splitk = 1) {
  return {{"bn", bn},
          {"stages", stages},
          {"acc", acc},
          {"group", group},
          {"splitk", splitk}};
}

Config paired(Config c) {
  c.set("cluster", 2);
  return c;
}

/// What only a cluster kernel's PTX holds: the multicast TMA load, the
/// multicast MMA commit (a stage released in both CTAs), the cluster
/// barrier, the CTA's rank in its cluster and the cluster-scope wait.
const char *const kClusterPtx[] = {
    "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_"
    "tx::bytes.multicast::cluster",
    "tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::cluster."
    "multicast::cluster.b64",
    "barrier.cluster.arrive",
    "barrier.cluster.wait",
    "%cluster_ctarank",
    "mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64"};

/// The tcgen05 instructions every instance issues.
const char *const kTcgen05Ptx[] = {
    "tcgen05.mma.cta_group::1.kind::f16", "tcgen05.alloc", "tcgen05.commit",
    "tcgen05.ld.sync.aligned.32x32b.x16", "tcgen05.dealloc"};

} // namespace

TEST_CASE("sampled sm100 configurations compile within sm_100a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm100 t;
  const TargetDesc target = compiler->target();
  // The widest tile with both accumulator counts, the narrowest with the
  // deepest ring, and split-K (the slices meet in the workspace).
  const Config sample[] = {cfg(256, 4, 2, 8), cfg(128, 6, 1, 1),
                           cfg(64, 8, 2, 8), cfg(128, 6, 2, 1, 4),
                           cfg(256, 4, 1, 8, 2)};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        INFO(p.key() << " " << c.toString());
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, 192);
        REQUIRE_THAT(bin.ptx, Catch::Contains("cp.async.bulk.tensor.2d"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("mbarrier.try_wait.parity"));
        for (const char *insn : kTcgen05Ptx) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(insn));
        }
        if (c.get("splitk", 1) > 1) {
          REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
        }
        REQUIRE(CudaGemmSm100::sharedBytes(c) <= 232448);
        for (const char *only : kClusterPtx) {
          REQUIRE_THAT(bin.ptx, !Catch::Contains(only));
        }
        // The tcgen05 MMA family in SASS (UTC*MMA; UTCHMMA for 16-bit
        // inputs).
        test::sassContains(bin, "UTC[A-Z]*MMA");
      }
    }
  }
}

TEST_CASE("sm100 pairs of CTAs multicast B within sm_100a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm100 t;
  const TargetDesc target = compiler->target();
  // The widest tile (512 tensor-memory columns) with both accumulator
  // counts, the narrowest B that still splits (halves of 32 rows), and
  // split-K slices shared by a pair.
  const Config sample[] = {paired(cfg(256, 4, 2, 8)), paired(cfg(128, 6, 1, 1)),
                           paired(cfg(64, 8, 2, 8)),
                           paired(cfg(128, 6, 2, 1, 4)),
                           paired(cfg(256, 4, 1, 8, 2))};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        INFO(p.key() << " " << c.toString());
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, 192);
        for (const char *insn : kTcgen05Ptx) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(insn));
        }
        for (const char *only : kClusterPtx) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(only));
        }
        // Still one CTA's MMAs (no pair MMAs), and the barriers are
        // published to the other CTA before either touches them.
        REQUIRE_THAT(bin.ptx, !Catch::Contains("cta_group::2"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("fence.mbarrier_init.release."
                                              "cluster"));
        if (c.get("splitk") > 1) {
          REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
        }
        // A pair's CTA needs the shared memory it needs alone.
        Config single = c;
        single.set("cluster", 1);
        REQUIRE(CudaGemmSm100::sharedBytes(c) ==
                CudaGemmSm100::sharedBytes(single));
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
        const int64_t bn = c.get("bn");
        const int64_t units =
            (1000 + 255) / 256 * ((1000 + bn - 1) / bn) * c.get("splitk");
        REQUIRE(cuda::gemmGridSize(*spec, p, 147) ==
                2 * std::min<int64_t>(units, 73));
        test::sassContains(bin, "UTC[A-Z]*MMA");
      }
    }
  }
}

TEST_CASE("sm100 kernels with an f32 C store f32 within sm_100a's limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaGemmSm100 t;
  // The widest tile read out of tensor memory, split-K (the last slice
  // stores from the workspace), and pairs of CTAs with and without it.
  const Config sample[] = {cfg(256, 4, 2, 8), cfg(128, 6, 2, 1, 4),
                           cfg(64, 8, 2, 8), paired(cfg(256, 4, 2, 8)),
                           paired(cfg(128, 6, 2, 1, 4))};
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (const Config &c : sample) {
        GemmProblem p = test::sampledCudaProblem(layout, dt);
        p.outF32 = true;
        INFO(p.key() << " " << c.toString());
        CudaKernelBinary bin =
            test::compileWithinLimits(*compiler, t, c, p, 192);
        for (const char *insn : kTcgen05Ptx) {
          REQUIRE_THAT(bin.ptx, Catch::Contains(insn));
        }
        test::requireF32Epilogue(bin.ptx);
        test::requireSplitKAndClusterPtx(bin.ptx, c, kClusterPtx);
      }
    }
  }
  // The check tells the two apart: a 16-bit C packs with cvt.rn.
  GemmProblem narrow = test::sampledCudaProblem("NT", DType::F16);
  CudaKernelBinary bin =
      test::compileWithinLimits(*compiler, t, sample[0], narrow, 192);
  REQUIRE_THAT(bin.ptx, Catch::Contains("cvt.rn.f16x2.f32"));
  REQUIRE_THAT(bin.ptx, !Catch::Contains("st.global.v2.f32"));
}

TEST_CASE("sm100 cluster blocks are resolved when the text is generated") {
  CudaGemmSm100 t;
  const TargetDesc target = *parseTarget("cuda:sm_100a");
  GemmProblem p = test::sampledCudaProblem("NT", DType::BF16);
  // cluster = 1 is the configuration without the key, and neither text
  // leaves the cluster choice to the CUDA preprocessor.
  Config one = cfg(256, 4, 2, 8);
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
  REQUIRE_THAT(pair->text, Catch::Contains("kt_mma_commit_pair(&empty[s]);"));
  REQUIRE_THAT(pair->launch, Catch::Contains(";cluster=2x1"));
}

TEST_CASE("sm100 offers pairs of CTAs where tile pairs fill the SMs") {
  CudaGemmSm100 t;
  const TargetDesc target = *parseTarget("cuda:sm_100a");
  GemmProblem big = test::gemmProblem("NT", 4096, 4096, 4096, DType::BF16);
  Config three = cfg(256, 4, 2, 8);
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
  // Decode: one tile row, nothing to pair; 1024 x 1024: 4 x 4 tile pairs
  // of 128 x 256 leave most of 148 SMs idle.
  for (const GemmProblem &p :
       {test::gemmProblem("NT", 16, 4096, 4096, DType::BF16),
        test::gemmProblem("NT", 1024, 1024, 4096, DType::BF16)}) {
    INFO(p.key());
    for (const Config &c : t.space(p, target)) {
      REQUIRE(c.get("cluster", 1) == 1);
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
