// cuda.attention.mlir: MLIR -> NVVM -> PTX -> nvJitLink cubins for sm_90a
// and sm_100a without a GPU (the mma.sync, exp2 and quad shuffles in the
// PTX; the split-KV fence and atomic exactly in split kernels; no spills;
// registers within the block's share; the warp vote of lazy rescaling;
// the 16-byte K / V loads of stages=2 and its cp.async copies with
// async=1; ldmatrix fragment reads with ldsm=1), and the split / pack,
// stages, ldsm and async parameters.
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "support/AttentionSplitPackCheck.h"
#include "support/AttentionStagesCheck.h"
#include "support/CountText.h"
#include "support/CudaGemmCompile.h"
#include "support/MlirCudaCompiler.h"

#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>
#include <tuple>

using namespace kt;

namespace {

Config cfg(int64_t warps, int64_t kv, int64_t split = 1, int64_t pack = 0,
           int64_t lazy = 0, int64_t stages = 1, int64_t ldsm = 0,
           int64_t async = 0) {
  return {{"warps", warps}, {"kv", kv},      {"split", split},
          {"pack", pack},   {"lazy", lazy},  {"stages", stages},
          {"ldsm", ldsm},   {"async", async}};
}

using test::count;

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
        // The next block prefetched: prefill (with lazy), the split packed
        // decode.
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         cfg(4, 64, 1, 0, 0, 2)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         cfg(2, 32, 1, 0, 1, 2)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         cfg(1, 32, 16, 1, 0, 2)},
        // ldmatrix fragment reads: prefill, prefill with lazy and the
        // prefetch, the split packed decode, one warp's 16 keys.
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         cfg(4, 64, 1, 0, 0, 1, 1)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         cfg(2, 32, 1, 0, 1, 2, 1)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         cfg(1, 32, 16, 1, 0, 1, 1)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         cfg(1, 16, 1, 1, 0, 1, 1)},
        // The next block copied with cp.async: prefill (ragged keys; one
        // lazy with ldmatrix), the split packed decode.
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         cfg(4, 32, 1, 0, 0, 2, 0, 1)},
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         cfg(4, 64, 1, 0, 1, 2, 1, 1)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         cfg(1, 32, 16, 1, 0, 2, 0, 1)},
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
          int((k.c.get("async") ? 2 : 1) * 2 * k.c.get("kv") * (p->d + 8) * 2 +
              (split ? 4 : 0)));
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
      // stages=2 fetches each block in 16-byte loads and stores (the
      // first block before the loop, the next one in it: each thread
      // kv * d / 8 / threads chunks of K and of V, twice), with one
      // barrier more; stages=1 loads element by element.
      // async=1 copies them with cp.async.cg (16 bytes, the source size
      // zero where a key is past the sequence) into the other buffer,
      // each iteration waiting for all but the newest group, with no
      // barrier more than stages=1.
      const int64_t chunks =
          k.c.get("kv") * p->d / 8 / int64_t(launch->threads);
      const bool async = k.c.get("async") == 1;
      if (async) {
        REQUIRE_THAT(src->text, Catch::Contains(" async=1"));
        REQUIRE(count(bin.ptx, "cp.async.cg.shared.global") ==
                size_t(4 * chunks));
        REQUIRE(count(bin.ptx, "cp.async.wait_group \t1") == 1);
        REQUIRE(count(bin.ptx, "ld.global.v4") == 0);
        REQUIRE(count(bin.ptx, "st.shared.v4") == 0);
      } else if (k.c.get("stages") == 2) {
        REQUIRE(count(bin.ptx, "ld.global.v4.b32") == size_t(4 * chunks));
        REQUIRE(count(bin.ptx, "st.shared.v4.b32") == size_t(4 * chunks));
      } else {
        REQUIRE(count(bin.ptx, "ld.global.v4") == 0);
      }
      if (!async) {
        REQUIRE(count(bin.ptx, "cp.async") == 0);
      }
      // ldsm=1 reads K's B fragments with ldmatrix x4 (two k16 steps of
      // an n8 key tile each) and V's with x4.trans (two n8 output tiles of
      // a k16 key step): per block kv / 8 * d / 32 and kv / 16 * d / 16,
      // and no other shared-memory load but the split's last-CTA flag.
      // ldsm=0 reads them a pair (K) or an element (V) at a time: 3 kv d /
      // 64 loads per block.
      const int64_t kv = k.c.get("kv");
      if (k.c.get("ldsm") == 1) {
        REQUIRE_THAT(src->text, Catch::Contains(" ldsm=1"));
        REQUIRE(count(bin.ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16") ==
                size_t(kv / 8 * p->d / 32));
        REQUIRE(
            count(bin.ptx, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16") ==
            size_t(kv / 16 * p->d / 16));
        REQUIRE(count(bin.ptx, "ld.shared") == size_t(split ? 1 : 0));
      } else {
        REQUIRE(count(bin.ptx, "ldmatrix") == 0);
        REQUIRE(count(bin.ptx, "ld.shared") ==
                size_t(3 * kv * p->d / 64 + (split ? 1 : 0)));
      }
      REQUIRE(count(bin.ptx, "bar.sync") ==
              size_t(k.c.get("stages") == 2 && !async ? 3 : 2) +
                  (split ? 2 : 0));
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

TEST_CASE("MLIR attention: stages in the space, the default, refusals") {
  test::checkStages(CudaAttentionMlir(), *parseTarget("cuda:sm_90a"),
                    {{"warps", 4}, {"kv", 64}});
}

namespace {

/// A 0 / 1 parameter of cuda.attention.mlir, for a prefill and a split
/// decode problem: the default writes 0, every configuration of the space
/// names it and some take 1, a configuration without it (`base`) gives the
/// `name`=0 text byte for byte and no " name=", `name`=1 another text
/// naming it, and -1 and 2 are refused naming the parameter. `more` checks
/// what is particular to it, given the space and both texts.
void checkFlag(const char *name, const Config &base,
               const std::function<
                   void(const AttentionProblem &, const std::vector<Config> &,
                        const std::string &, const std::string &)> &more) {
  const TargetDesc target = *parseTarget("cuda:sm_90a");
  CudaAttentionMlir t;
  for (const char *sig : {"attn_bf16_BSHD_b1_hq8_hkv2_sq300_skv1000_d64_causal",
                          "attn_f16_BHSD_b1_hq32_hkv8_sq1_skv65536_d128"}) {
    auto p = parseAttentionProblem(sig);
    REQUIRE(p.isOk());
    INFO(p->key() << " " << name);
    REQUIRE(t.defaultConfig(*p, target).get(name, -1) == 0);
    const std::vector<Config> space = t.space(*p, target);
    bool on = false;
    for (const Config &c : space) {
      REQUIRE(c.has(name));
      on = on || c.get(name) == 1;
    }
    REQUIRE(on);
    Config zero = base, one = base;
    zero.set(name, 0);
    one.set(name, 1);
    auto old = t.instantiate(base, *p, target);
    auto off = t.instantiate(zero, *p, target);
    auto flagged = t.instantiate(one, *p, target);
    REQUIRE(old.isOk());
    REQUIRE(off.isOk());
    REQUIRE(flagged.isOk());
    REQUIRE(old->text == off->text);
    REQUIRE_THAT(old->text, !Catch::Contains(std::string(" ") + name + "="));
    REQUIRE_THAT(flagged->text,
                 Catch::Contains(std::string(" ") + name + "=1"));
    for (int64_t v : {-1, 2}) {
      Config bad = base;
      bad.set(name, v);
      REQUIRE_THAT(t.validate(bad, *p, target).message(),
                   Catch::Contains(std::string(name) + "=" + std::to_string(v) +
                                   " must be 0 or 1"));
    }
    more(*p, space, old->text, flagged->text);
  }
}

} // namespace

TEST_CASE("MLIR attention: ldsm in the space, the default, refusals") {
  // ldsm=1 reads fragments with nvgpu.ldmatrix, K's plain and V's
  // transposed; ldsm=0 never does.
  checkFlag("ldsm", {{"warps", 4}, {"kv", 64}},
            [](const AttentionProblem &, const std::vector<Config> &,
               const std::string &off, const std::string &on) {
              REQUIRE_THAT(off, !Catch::Contains("ldmatrix"));
              REQUIRE_THAT(on, Catch::Contains("transpose = true"));
              REQUIRE_THAT(on, Catch::Contains("transpose = false"));
            });
}

TEST_CASE("MLIR attention: async in the space, the default, refusals") {
  const TargetDesc target = *parseTarget("cuda:sm_90a");
  const Config base{{"warps", 4}, {"kv", 32}, {"stages", 2}};
  checkFlag("async", base,
            [&](const AttentionProblem &p, const std::vector<Config> &space,
                const std::string &off, const std::string &on) {
              // Offered only with stages=2 and only where two K / V buffers fit
              // the static shared memory (kv 64 at d 128 does not).
              for (const Config &c : space) {
                if (c.get("async") == 1) {
                  REQUIRE(c.get("stages") == 2);
                  REQUIRE(2 * 2 * c.get("kv") * (p.d + 8) * 2 <= 48 * 1024);
                }
              }
              REQUIRE_THAT(off, !Catch::Contains("nvgpu."));
              REQUIRE_THAT(on, Catch::Contains("nvgpu.device_async_copy"));
              REQUIRE_THAT(on, Catch::Contains("numGroups = 1"));
              CudaAttentionMlir t;
              Config bad = base;
              bad.set("async", 1);
              bad.set("stages", 1);
              REQUIRE_THAT(t.validate(bad, p, target).message(),
                           Catch::Contains("needs stages=2"));
              if (p.d == 128) {
                bad.set("stages", 2);
                bad.set("kv", 64);
                REQUIRE_THAT(
                    t.validate(bad, p, target).message(),
                    Catch::Contains("with async=1 (two buffers) needs 69632 "
                                    "bytes of static shared memory"));
              }
            });
}

TEST_CASE("MLIR attention: every prefetching (warps, kv, ldsm, async) the "
          "space offers compiles without spills") {
  auto compiler = test::mlirCompiler("cuda:sm_90a");
  if (!compiler) {
    return;
  }
  CudaAttentionMlir t;
  // Head dim 128 (the most each thread holds); a prefill and the packed
  // decode.
  for (const char *sig : {"attn_bf16_BSHD_b1_hq16_hkv16_sq4096_skv4096_d128",
                          "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv65536_d128"}) {
    auto p = parseAttentionProblem(sig);
    REQUIRE(p.isOk());
    std::set<std::tuple<int64_t, int64_t, int64_t, int64_t>> seen;
    for (const Config &c : t.space(*p, compiler->target())) {
      if (c.get("stages") != 2 || !seen.insert({c.get("warps"), c.get("kv"),
                                                c.get("ldsm"), c.get("async")})
                                       .second) {
        continue;
      }
      INFO(p->key() << " " << c.toString());
      auto src = t.instantiate(c, *p, compiler->target());
      REQUIRE(src.isOk());
      auto launch = cuda::parseAttentionLaunchSpec(src->launch);
      REQUIRE(launch.isOk());
      test::compileSourceWithinLimits(
          *compiler, *src, c.toString() + p->key(), launch->threads,
          int((c.get("async") ? 2 : 1) * 2 * c.get("kv") * (p->d + 8) * 2 +
              (c.get("split") > 1 ? 4 : 0)));
    }
    // At least the decode's one warp with kv 16; the prefill's four warps
    // with every kv.
    REQUIRE(!seen.empty());
  }
}
