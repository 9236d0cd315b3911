// hip.attention.mfma and hip.attention.mlir compiled for gfx950 and gfx942
// on a machine with no AMD GPU or ROCm: sampled configurations (prefill and
// decode, GQA packing, split-KV, head dims 64 / 128 / 256, both layouts, bf16
// and fp16), each with the eager and the lazy softmax (lazy=0 / 1). The
// disassembly holds the chip's MFMA for the type, the cross-lane maxima and
// hardware exp2; the metadata shows wave64, no scratch or spills, registers
// and LDS within the chip's limits; hip.attention.mlir's stages=2 stages K
// in 16-byte LDS writes. Nothing here runs an AMD kernel.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "ktune/templates/attention/HipAttentionMlir.h"
#include "support/AttentionSplitPackCheck.h"
#include "support/AttentionStagesCheck.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <optional>

using namespace kt;

namespace {

Config cfg(int64_t waves, int64_t mi, int64_t kv, int64_t stages, int64_t split,
           int64_t pack) {
  return {{"waves", waves},   {"mi", mi},       {"kv", kv},
          {"stages", stages}, {"split", split}, {"pack", pack}};
}

} // namespace

TEST_CASE("sampled MFMA attention configurations compile for gfx950 and "
          "gfx942") {
  HipAttentionMfma t;
  struct Case {
    const char *sig;
    Config c;
  };
  const Case cases[] = {
      {"attn_bf16_BSHD_b2_hq16_hkv16_sq1000_skv1000_d128_causal",
       cfg(4, 1, 32, 2, 1, 0)},
      {"attn_bf16_BHSD_b1_hq16_hkv4_sq2048_skv2048_d64",
       cfg(4, 2, 64, 1, 1, 0)},
      {"attn_bf16_BSHD_b1_hq8_hkv8_sq4096_skv4096_d256_causal",
       cfg(8, 1, 32, 1, 1, 0)},
      {"attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128", cfg(1, 1, 32, 1, 8, 1)},
      {"attn_bf16_BHSD_b2_hq64_hkv8_sq3_skv5000_d64_causal",
       cfg(2, 1, 64, 2, 16, 1)},
  };
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    INFO(compiler.status().toString());
    REQUIRE(compiler.isOk());
    for (const Case &base : cases) {
      for (const char *ty : {"bf16", "f16"}) {
        for (int64_t lazy : {0, 1}) {
          Case k = base;
          if (lazy) {
            k.c.set("lazy", 1); // lazy=0: the key left out, read as 0
          }
          std::string sig = k.sig;
          sig.replace(sig.find("bf16"), 4, ty);
          auto p = parseAttentionProblem(sig);
          REQUIRE(p.isOk());
          INFO(arch << " " << p->key() << " " << k.c.toString());
          auto v = t.validate(k.c, *p, compiler->target());
          INFO(v.toString());
          REQUIRE(v.isOk());
          auto src = t.instantiate(k.c, *p, compiler->target());
          REQUIRE(src.isOk());
          auto launch = cuda::parseAttentionLaunchSpec(src->launch);
          REQUIRE(launch.isOk());
          auto bin = compiler->compile(*src, k.c.toString() + p->key());
          INFO(bin.status().toString());
          REQUIRE(bin.isOk());
          auto dis = compiler->disassemble(bin->codeObject);
          REQUIRE(dis.isOk());
          const std::string mfma =
              std::string(arch) == "gfx950"
                  ? std::string("v_mfma_f32_16x16x32_") + ty
                  : std::string("v_mfma_f32_16x16x16_") + ty;
          REQUIRE_THAT(*dis, Catch::Contains(mfma));
          REQUIRE_THAT(*dis, Catch::Contains("ds_bpermute_b32"));
          REQUIRE_THAT(*dis, Catch::Contains("v_exp_f32"));
          // The lazy softmax's wave-wide vote.
          REQUIRE((src->text.find("__builtin_amdgcn_ballot_w64") !=
                   std::string::npos) == (lazy == 1));
          if (k.c.get("waves") > 1) {
            // (A one-wave workgroup's barriers compile to nothing.)
            REQUIRE_THAT(*dis, Catch::Contains("s_barrier"));
          }
          if (k.c.get("split") > 1) {
            // At device scope: no system-scope (sc0 sc1) write-back or
            // invalidation of the whole L2 around the add.
            REQUIRE_THAT(*dis, Catch::Contains("global_atomic_add"));
            REQUIRE_THAT(*dis, !Catch::Contains("sc0 sc1"));
          }
          const HipResources &r = bin->resources;
          REQUIRE(r.wavefrontSize == 64);
          REQUIRE(r.scratchBytes == 0);
          REQUIRE(r.vgprSpills == 0);
          REQUIRE(r.sgprSpills == 0);
          REQUIRE(r.vgprs <= 512); // VGPRs and AGPRs together
          REQUIRE(r.agprs <= r.vgprs);
          REQUIRE(r.ldsBytes >= HipAttentionMfma::ldsBytes(k.c, p->d) - 16);
          REQUIRE(r.ldsBytes <= HipAttentionMfma::ldsBytes(k.c, p->d) + 16);
          REQUIRE(r.ldsBytes <=
                  (std::string(arch) == "gfx950" ? 160 : 64) * 1024);
          REQUIRE(r.maxFlatWorkgroupSize == launch->threads);
          UNSCOPED_INFO(arch << " " << p->key() << " " << k.c.toString() << ": "
                             << r.vgprs << " VGPRs, " << r.agprs << " AGPRs, "
                             << r.ldsBytes << " bytes of LDS");
        }
      }
    }
  }
}

TEST_CASE("MFMA attention spaces and defaults are legal on both chips") {
  HipAttentionMfma t;
  for (const char *arch : {"gfx950", "gfx942"}) {
    const TargetDesc target = *parseTarget(std::string("hip:") + arch);
    for (const char *sig :
         {"attn_bf16_BSHD_b1_hq32_hkv8_sq4096_skv4096_d128_causal",
          "attn_f16_BHSD_b4_hq16_hkv16_sq1024_skv1024_d64",
          "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv131072_d128",
          "attn_bf16_BSHD_b1_hq8_hkv8_sq2048_skv2048_d256"}) {
      auto p = parseAttentionProblem(sig);
      REQUIRE(p.isOk());
      INFO(arch << " " << sig);
      REQUIRE(t.supports(*p, target));
      auto space = t.space(*p, target);
      REQUIRE(space.size() > 4);
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
    // The softmax variant: both in the space, eager by default; lazy=0 and
    // a configuration without the key give the same text, lazy=1 another.
    REQUIRE(d.get("lazy", -1) == 0);
    bool lazy[2] = {false, false};
    for (const Config &c : t.space(*decode, target)) {
      REQUIRE(c.has("lazy"));
      lazy[c.get("lazy") == 1] = true;
    }
    REQUIRE(lazy[0]);
    REQUIRE(lazy[1]);
    Config eager = cfg(1, 1, 32, 1, 8, 1);
    auto without = t.instantiate(eager, *decode, target);
    eager.set("lazy", 0);
    auto zero = t.instantiate(eager, *decode, target);
    eager.set("lazy", 1);
    auto one = t.instantiate(eager, *decode, target);
    INFO(without.status().toString());
    REQUIRE(without.isOk());
    REQUIRE(zero.isOk());
    REQUIRE(one.isOk());
    REQUIRE(without->text == zero->text);
    REQUIRE(one->text != zero->text);
    for (int64_t v : {-1, 2, 8}) {
      eager.set("lazy", v);
      auto refused = t.validate(eager, *decode, target);
      REQUIRE_FALSE(refused.isOk());
      REQUIRE_THAT(refused.message(),
                   Catch::Contains(fmt::format("lazy={} must be 0 or 1", v)));
    }
  }
  auto f32 = parseAttentionProblem("attn_f32_BSHD_b1_hq8_hkv8_sq64_skv64_d64");
  REQUIRE_FALSE(t.supports(*f32, *parseTarget("hip:gfx950")));
  auto d96 = parseAttentionProblem("attn_bf16_BSHD_b1_hq8_hkv8_sq64_skv64_d96");
  auto bad =
      t.validate(cfg(4, 1, 64, 2, 1, 0), *d96, *parseTarget("hip:gfx950"));
  REQUIRE_THAT(bad.message(), Catch::Contains("head dim 64, 128 or 256"));
  auto big =
      parseAttentionProblem("attn_bf16_BSHD_b1_hq8_hkv8_sq64_skv64_d256");
  auto lds =
      t.validate(cfg(4, 1, 128, 2, 1, 0), *big, *parseTarget("hip:gfx942"));
  REQUIRE_THAT(lds.message(), Catch::Contains("LDS"));
}

TEST_CASE("MLIR MFMA attention kernels lower through ROCDL to code objects") {
  HipAttentionMlir t;
  auto mlirCfg = [](int64_t waves, int64_t kv, int64_t split, int64_t pack,
                    int64_t lazy = 0, int64_t stages = 1) {
    return Config{{"waves", waves}, {"kv", kv},     {"split", split},
                  {"pack", pack},   {"lazy", lazy}, {"stages", stages}};
  };
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    REQUIRE(compiler.isOk());
    const int64_t km = std::string(arch) == "gfx950" ? 32 : 16;
    struct Case {
      const char *sig;
      std::optional<Config> c; ///< Absent: the default.
    };
    const Case cases[] = {
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal", {}},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal", {}},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128", {}}, // split, packed
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         mlirCfg(4, 32, 2, 1)},
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         mlirCfg(2, 32, 4, 0)},
        // Lazy rescaling: prefill, and the split packed decode.
        {"attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d64_causal",
         mlirCfg(4, 64, 1, 0, 1)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         mlirCfg(1, 64, 8, 1, 1)},
        // The next block prefetched: prefill (with lazy), the split packed
        // decode.
        {"attn_f16_BHSD_b1_hq4_hkv4_sq200_skv130_d128_causal",
         mlirCfg(4, 64, 1, 0, 1, 2)},
        {"attn_bf16_BHSD_b2_hq16_hkv2_sq1_skv1000_d128",
         mlirCfg(1, 64, 8, 1, 0, 2)},
    };
    for (const Case &k : cases) {
      auto p = parseAttentionProblem(k.sig);
      REQUIRE(p.isOk());
      const Config c = k.c ? *k.c : t.defaultConfig(*p, compiler->target());
      INFO(arch << " " << p->key() << " " << c.toString());
      REQUIRE(t.validate(c, *p, compiler->target()).isOk());
      auto src = t.instantiate(c, *p, compiler->target());
      INFO(src.status().toString());
      REQUIRE(src.isOk());
      REQUIRE(src->language == "mlir");
      auto launch = cuda::parseAttentionLaunchSpec(src->launch);
      REQUIRE(launch.isOk());
      REQUIRE(launch->split == c.get("split"));
      REQUIRE(launch->pack == (c.get("pack") ? p->hq / p->hkv : 1));
      auto bin = compiler->compile(*src, c.toString() + p->key());
      INFO(bin.status().toString());
      REQUIRE(bin.isOk());
      auto dis = compiler->disassemble(bin->codeObject);
      REQUIRE(dis.isOk());
      const std::string ty = p->dtype == DType::BF16 ? "bf16" : "f16";
      REQUIRE_THAT(*dis, Catch::Contains("v_mfma_f32_16x16x" +
                                         std::to_string(km) + "_" + ty));
      REQUIRE_THAT(*dis, Catch::Contains("v_exp_f32"));
      // Lazy kernels take a wave ballot on moving the maxima (a uniform
      // scalar branch around O's rescale).
      REQUIRE((src->text.find("rocdl.ballot") != std::string::npos) ==
              (c.get("lazy", 0) == 1));
      // stages=2 writes K's 16-byte chunks to LDS whole; stages=1 stages
      // element by element.
      REQUIRE((dis->find("ds_write_b128") != std::string::npos) ==
              (c.get("stages", 1) == 2));
      // Split kernels count their tile's arrivals; the others have no
      // atomics.
      // Its atomic and the fences around it are at agent scope: no
      // system-scope write-back or invalidation of the whole L2 (sc0 sc1).
      if (c.get("split") > 1) {
        REQUIRE_THAT(*dis, Catch::Contains("global_atomic_add"));
        REQUIRE_THAT(*dis, Catch::Contains("buffer_inv sc1"));
        REQUIRE_THAT(*dis, Catch::Contains("buffer_wbl2 sc1"));
        REQUIRE_THAT(*dis, !Catch::Contains("sc0 sc1"));
        // --emit llvm and asm of the same MLIR, through the same path.
        auto ir = compiler->emit(*src, true);
        INFO(ir.status().toString());
        REQUIRE(ir.isOk());
        REQUIRE_THAT(*ir, Catch::Contains("atomicrmw add ptr addrspace(1)"));
        REQUIRE_THAT(*ir, Catch::Contains("syncscope(\"agent\") monotonic"));
        REQUIRE_THAT(*ir, Catch::Contains("@llvm.amdgcn.mfma"));
        auto asm_ = compiler->emit(*src, false);
        INFO(asm_.status().toString());
        REQUIRE(asm_.isOk());
        REQUIRE_THAT(*asm_, Catch::Contains("global_atomic_add"));
        REQUIRE_THAT(*asm_, Catch::Contains(".amdhsa_kernel " + src->entry));
      } else {
        REQUIRE_THAT(*dis, !Catch::Contains("global_atomic"));
      }
      const HipResources &r = bin->resources;
      REQUIRE(r.wavefrontSize == 64);
      REQUIRE(r.scratchBytes == 0);
      REQUIRE(r.vgprSpills == 0);
      REQUIRE(r.vgprs <= 512); // VGPRs and AGPRs together
      REQUIRE(r.agprs <= r.vgprs);
      // K and V^T blocks, plus the split counter.
      REQUIRE(r.ldsBytes ==
              (c.get("kv") * (p->d + 8) + p->d * (c.get("kv") + 8)) * 2 +
                  (c.get("split") > 1 ? 4 : 0));
    }
  }
}

TEST_CASE("MLIR MFMA attention: split and pack in the space, decode "
          "defaults, refusals") {
  test::checkSplitPack(HipAttentionMlir(), *parseTarget("hip:gfx950"),
                       {{"waves", 4}, {"kv", 64}});
}

TEST_CASE("MLIR MFMA attention: stages in the space, the default, refusals") {
  test::checkStages(HipAttentionMlir(), *parseTarget("hip:gfx950"),
                    {{"waves", 4}, {"kv", 64}});
}
