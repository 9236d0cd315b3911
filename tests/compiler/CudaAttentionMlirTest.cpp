// cuda.attention.mlir: MLIR -> NVVM -> PTX -> nvJitLink cubins for sm_90a
// and sm_100a without a GPU (the mma.sync, exp2 and quad shuffles in the
// PTX; the split-KV fence and atomic exactly in split kernels; no spills;
// registers within the block's share; the warp vote of lazy rescaling),
// and the split / pack parameters.
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "support/AttentionSplitPackCheck.h"
#include "support/CudaGemmCompile.h"
#include "support/MlirCudaCompiler.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {

Config cfg(int64_t warps, int64_t kv, int64_t split = 1, int64_t pack = 0,
           int64_t lazy = 0) {
  return {{"warps", warps},
          {"kv", kv},
          {"split", split},
          {"pack", pack},
          {"lazy", lazy}};
}

} // namespace

TEST_CASE("MLIR attention kernels lower through NVVM to cubins") {
  CudaAttentionMlir t;
  for (const char *target : {"cuda:sm_90a", "cuda:sm_100a"}) {
    auto compiler = test::mlirCompiler(target);
    if (!compiler) {
      return;
    }
    struct Case {
      const char *sig;
      Config c;
    };
    const Case cases[] = {
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal", cfg(4, 64)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal", cfg(2, 32)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128", cfg(1, 16)},
        // GQA-packed rows, split-KV, and both (the decode default).
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         cfg(4, 32, 1, 1)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         cfg(2, 32, 4, 0)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128", cfg(1, 32, 16, 1)},
        // Lazy rescaling: prefill, and the split packed decode.
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         cfg(4, 64, 1, 0, 1)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         cfg(2, 32, 1, 0, 1)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128", cfg(1, 32, 16, 1, 1)},
    };
    for (const Case &k : cases) {
      auto p = parseAttentionProblem(k.sig);
      REQUIRE(p.isOk());
      INFO(target << " " << p->key() << " " << k.c.toString());
      REQUIRE(t.validate(k.c, *p, compiler->target()).isOk());
      auto src = t.instantiate(k.c, *p, compiler->target());
      REQUIRE(src.isOk());
      REQUIRE(src->language == "mlir");
      auto launch = cuda::parseAttentionLaunchSpec(src->launch);
      REQUIRE(launch.isOk());
      REQUIRE(launch->pointers);
      REQUIRE(launch->split == k.c.get("split"));
      REQUIRE(launch->pack == (k.c.get("pack") ? p->hq / p->hkv : 1));
      const bool split = k.c.get("split") > 1;
      CudaKernelBinary bin = test::compileSourceWithinLimits(
          *compiler, *src, k.c.toString() + p->key(), launch->threads,
          int(2 * k.c.get("kv") * (p->d + 8) * 2 + (split ? 4 : 0)));
      const std::string ty = p->dtype == DType::BF16 ? "bf16" : "f16";
      REQUIRE_THAT(bin.ptx, Catch::Contains("mma.sync.aligned.m16n8k16.row."
                                            "col.f32." +
                                            ty + "." + ty + ".f32"));
      REQUIRE_THAT(bin.ptx, Catch::Contains("ex2.approx.ftz.f32"));
      REQUIRE_THAT(bin.ptx, Catch::Contains("shfl.sync.bfly"));
      // Lazy kernels vote per warp on moving the maxima, then branch
      // around O's rescale; eager ones do not vote.
      if (k.c.get("lazy") == 1) {
        REQUIRE_THAT(src->text, Catch::Contains(" lazy=1"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("vote.sync.any.pred"));
      } else {
        REQUIRE_THAT(bin.ptx, !Catch::Contains("vote."));
      }
      // Split kernels take the workspace and semaphores (parameters 5 and
      // 6), publish their partials with a GPU-scope fence and count their
      // tile's arrivals; the others have neither.
      if (split) {
        REQUIRE_THAT(bin.ptx, Catch::Contains("kt_attention_param_6"));
        // PTX 8.6 (sm_100a) has release-only fences.
        REQUIRE_THAT(bin.ptx, Catch::Contains("fence.acq_rel.gpu") ||
                                  Catch::Contains("fence.release.gpu"));
        REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
      } else {
        REQUIRE_THAT(bin.ptx, !Catch::Contains("kt_attention_param_5"));
        REQUIRE_THAT(bin.ptx, !Catch::Contains("atom."));
      }
    }
  }
}

TEST_CASE("MLIR attention: split and pack in the space, decode defaults, "
          "refusals") {
  test::checkSplitPack(CudaAttentionMlir(), *parseTarget("cuda:sm_90a"),
                       {{"warps", 4}, {"kv", 64}});
}
