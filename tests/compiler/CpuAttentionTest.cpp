// cpu.attention.mlir through the real MLIR pipeline: every sampled problem
// (MHA, GQA, MQA, causal with short and long queries, decode, both layouts,
// ragged lengths, head dims 8 to 128) and configuration is compiled, run on
// every block and compared with a double-precision reference, with O
// poisoned with NaN first so a row the kernel skips is caught.
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuAttentionAbi.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/templates/AttentionTemplate.h"
#include "support/AttentionReference.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace kt;

namespace {

AttentionProblem attn(const char *sig) {
  auto p = parseAttentionProblem(sig);
  INFO(sig << ": " << p.status().toString());
  REQUIRE(p.isOk());
  return *p;
}

/// Compiles `config` for `p`, runs every block and returns the worst
/// |O - reference|, or infinity if an element is not finite.
double runOnce(const AttentionTemplate &t, const CpuCompiler &compiler,
               CpuDevice &device, const AttentionProblem &p,
               const Config &config) {
  auto src = t.instantiate(config, p, device.target());
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, p.key() + config.toString());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  auto mod = device.loadModule(bin->bytes);
  REQUIRE(mod.isOk());
  auto fn = (*mod)->function(kCpuAttentionSymbol);
  auto blocks = (*mod)->function(kCpuAttentionBlocksSymbol);
  REQUIRE((fn.isOk() && blocks.isOk()));
  std::mt19937 rng(11);
  std::vector<float> q = test::randomTensor(p.qElements(), rng, 2.0f);
  std::vector<float> k = test::randomTensor(p.kvElements(), rng, 2.0f);
  std::vector<float> v = test::randomTensor(p.kvElements(), rng);
  std::vector<float> o(size_t(p.qElements()),
                       std::numeric_limits<float>::quiet_NaN());
  const float scale = 1.0f / std::sqrt(float(p.d));
  auto run = reinterpret_cast<CpuAttentionBlockFn>(*fn);
  const int64_t n = reinterpret_cast<CpuBlocksFn>(*blocks)();
  device.pool().parallelFor(n, [&](int64_t blk) {
    run(q.data(), k.data(), v.data(), o.data(), scale, blk);
  });
  std::vector<double> ref = test::attentionReference(p, q, k, v, scale);
  double worst = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    if (!std::isfinite(o[i])) {
      return std::numeric_limits<double>::infinity();
    }
    worst = std::max(worst, std::fabs(double(o[i]) - ref[i]));
  }
  return worst;
}

} // namespace

TEST_CASE("cpu.attention.mlir matches the reference", "[compiler]") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  auto t = findAttentionTemplate("cpu.attention.mlir");
  REQUIRE(t.isOk());
  const char *problems[] = {
      "attn_f32_BSHD_b2_hq4_hkv4_sq37_skv53_d32",
      "attn_f32_BSHD_b1_hq8_hkv2_sq64_skv64_d64_causal",
      "attn_f32_BHSD_b2_hq4_hkv1_sq19_skv70_d16_causal",
      "attn_f32_BSHD_b1_hq4_hkv2_sq40_skv24_d8_causal", // rows without keys
      "attn_f32_BSHD_b2_hq8_hkv1_sq1_skv300_d128",      // decode, MQA
      "attn_f32_BHSD_b1_hq4_hkv2_sq3_skv129_d64_causal",
  };
  for (const char *sig : problems) {
    AttentionProblem p = attn(sig);
    // pr (rows per P V step) 1, 2 and 4; a configuration without pr (as
    // stored before it existed) means 1.
    std::vector<Config> configs = {
        (*t)->defaultConfig(p, device.target()),
        {{"bq", 1}, {"bkv", 16}, {"ku", 1}},
        {{"bq", 2}, {"bkv", 32}, {"ku", 4}, {"pr", 2}},
        {{"bq", 8}, {"bkv", 128}, {"ku", 8}, {"pr", 4}}};
    for (const Config &c : configs) {
      INFO(sig << " " << c.toString());
      CHECK(runOnce(**t, compiler, device, p, c) < 2e-5);
    }
  }
}

TEST_CASE("attention problems parse, print and validate", "[compiler]") {
  AttentionProblem p = attn("attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128");
  CHECK(p.key() == "attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128");
  CHECK(p.keyLimit(0) == 4096);
  AttentionProblem c =
      attn(" attn_f32_BHSD_d64_skv16_sq32_hkv2_hq4_b3_causal ");
  CHECK(c.key() == "attn_f32_BHSD_b3_hq4_hkv2_sq32_skv16_d64_causal");
  CHECK(c.keyLimit(15) == 0);
  CHECK(c.keyLimit(16) == 1);
  CHECK(c.keyLimit(31) == 16);
  CHECK(c.flops() == 4.0 * 3 * 4 * 32 * 16 * 64 / 2);
  for (const char *bad :
       {"attn_f32_BSHD_b1_hq6_hkv4_sq1_skv1_d64", "attn_f32_XY_b1",
        "attn_f32_BSHD_b1_hq4_hkv4_sq1_skv1_d60",
        "attn_f32_BSHD_b1_hq4_hkv4_sq1_skv1", "attn_f99_BSHD_b1_hq4_hkv4",
        "attn_f32_BSHD_b1_b2_hq4_hkv4_sq1_skv1_d64",
        "attn_f32_BSHD_b0_hq4_hkv4_sq1_skv1_d64"}) {
    auto r = parseAttentionProblem(bad);
    INFO(bad);
    CHECK_FALSE(r.isOk());
    CHECK(r.status().message().find(bad) != std::string::npos);
  }
}
