// cuda.attention.mlir: MLIR -> NVVM -> PTX -> nvJitLink cubins for sm_90a
// and sm_100a without a GPU (the mma.sync, exp2 and quad shuffles in the
// PTX; no spills; registers within the block's share).
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "support/CudaGemmCompile.h"
#include "support/MlirCudaCompiler.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {

Config cfg(int64_t warps, int64_t kv) { return {{"warps", warps}, {"kv", kv}}; }

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
      CudaKernelBinary bin = test::compileSourceWithinLimits(
          *compiler, *src, k.c.toString() + p->key(), launch->threads,
          int(2 * k.c.get("kv") * (p->d + 8) * 2));
      const std::string ty = p->dtype == DType::BF16 ? "bf16" : "f16";
      REQUIRE_THAT(bin.ptx, Catch::Contains("mma.sync.aligned.m16n8k16.row."
                                            "col.f32." +
                                            ty + "." + ty + ".f32"));
      REQUIRE_THAT(bin.ptx, Catch::Contains("ex2.approx.ftz.f32"));
      REQUIRE_THAT(bin.ptx, Catch::Contains("shfl.sync.bfly"));
    }
  }
}
