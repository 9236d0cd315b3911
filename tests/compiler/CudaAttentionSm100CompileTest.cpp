// Sampled cuda.attention.sm100 configurations compile for sm_100a through
// NVRTC without a GPU: both tcgen05 MMA forms (S from two shared-memory
// descriptors; P V with P read from tensor memory), tensor-memory loads and
// stores, TMA loads, and ptxas' limits (no spills, no warnings, registers
// within the block's share).
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/templates/attention/CudaAttentionSm100.h"
#include "support/CudaGemmCompile.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>

using namespace kt;

namespace {

Config cfg(int64_t kv, int64_t stages, int64_t split, int64_t pack,
           int64_t lazy = 1) {
  return {{"kv", kv},
          {"stages", stages},
          {"split", split},
          {"pack", pack},
          {"lazy", lazy}};
}

} // namespace

TEST_CASE("sampled sm100 attention configurations compile within sm_100a's "
          "limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaAttentionSm100 t;
  struct Case {
    const char *sig;
    Config c;
  };
  const Case cases[] = {
      {"attn_bf16_BSHD_b2_hq16_hkv16_sq1000_skv1000_d128_causal",
       cfg(128, 3, 1, 0)},
      {"attn_f16_BHSD_b1_hq16_hkv4_sq2048_skv2048_d64", cfg(64, 4, 1, 0, 0)},
      {"attn_bf16_BSHD_b1_hq8_hkv8_sq4096_skv4096_d256_causal",
       cfg(64, 2, 1, 0)},
      {"attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128", cfg(128, 2, 8, 1)},
      {"attn_f16_BHSD_b2_hq64_hkv8_sq3_skv5000_d64_causal", cfg(64, 3, 16, 1)},
  };
  for (const Case &k : cases) {
    auto p = parseAttentionProblem(k.sig);
    REQUIRE(p.isOk());
    INFO(p->key() << " " << k.c.toString());
    auto v = t.validate(k.c, *p, compiler->target());
    INFO(v.toString());
    REQUIRE(v.isOk());
    auto src = t.instantiate(k.c, *p, compiler->target());
    REQUIRE(src.isOk());
    auto launch = cuda::parseAttentionLaunchSpec(src->launch);
    REQUIRE(launch.isOk());
    REQUIRE(launch->threads == 192);
    REQUIRE(launch->rows == 128);
    REQUIRE(launch->sharedBytes == CudaAttentionSm100::sharedBytes(k.c, p->d));
    REQUIRE(launch->sharedBytes <= 232448);
    CudaKernelBinary bin = test::compileSourceWithinLimits(
        *compiler, *src, k.c.toString() + p->key(), launch->threads);
    const std::string &ptx = bin.ptx;
    // S = Q K^T from two descriptors; O += P V with P in tensor memory.
    REQUIRE(std::regex_search(
        ptx,
        std::regex(
            R"(tcgen05\.mma\.cta_group::1\.kind::f16 \[%r\d+\], %rd\d+, %rd\d+)")));
    REQUIRE(std::regex_search(
        ptx,
        std::regex(
            R"(tcgen05\.mma\.cta_group::1\.kind::f16 \[%r\d+\], \[%r\d+\], %rd\d+)")));
    REQUIRE_THAT(ptx, Catch::Contains("tcgen05.ld.sync.aligned.32x32b"));
    REQUIRE_THAT(ptx, Catch::Contains("tcgen05.st.sync.aligned.32x32b"));
    REQUIRE_THAT(ptx, Catch::Contains("tcgen05.alloc"));
    REQUIRE_THAT(ptx, Catch::Contains("tcgen05.dealloc"));
    REQUIRE_THAT(ptx, Catch::Contains("cp.async.bulk.tensor.2d"));
    if (k.c.get("split") > 1) {
      REQUIRE_THAT(ptx, Catch::Contains("atom.global.add.u32"));
    }
    // The warp votes on rescaling O (and, lazily, on a new maximum).
    REQUIRE_THAT(ptx, Catch::Contains("vote.sync.any.pred"));
    test::sassContains(bin, "UTCHMMA|UTCQMMA|UTCMMA");
  }
}

TEST_CASE("sm100 attention space and defaults are legal") {
  CudaAttentionSm100 t;
  const TargetDesc target = *parseTarget("cuda:sm_100a");
  for (const char *sig :
       {"attn_bf16_BSHD_b1_hq32_hkv8_sq4096_skv4096_d128_causal",
        "attn_f16_BHSD_b4_hq16_hkv16_sq1024_skv1024_d64",
        "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv131072_d128",
        "attn_bf16_BSHD_b1_hq8_hkv8_sq2048_skv2048_d256"}) {
    auto p = parseAttentionProblem(sig);
    REQUIRE(p.isOk());
    INFO(sig);
    REQUIRE(t.supports(*p, target));
    auto space = t.space(*p, target);
    REQUIRE(space.size() >= 2);
    REQUIRE(space.front() == t.defaultConfig(*p, target));
    for (const Config &c : space) {
      INFO(c.toString());
      REQUIRE(t.validate(c, *p, target).isOk());
    }
  }
  auto decode =
      parseAttentionProblem("attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv131072_d128");
  const Config d = t.defaultConfig(*decode, target);
  REQUIRE(d.get("pack") == 1);
  REQUIRE(d.get("split") >= 8);
  REQUIRE_FALSE(t.supports(*decode, *parseTarget("cuda:sm_90a")));
  auto smem = t.validate(cfg(128, 4, 1, 0), *decode, target);
  REQUIRE_THAT(smem.message(), Catch::Contains("shared memory"));
}
