// Shared test helper: what every GPU attention family with split-KV and
// GQA packing must show without a GPU: a decode default that packs the
// group and splits the KV length, both offered by the space (every entry
// valid), prefill left unsplit, configurations stored without the
// parameters meaning split=1 / pack=0 (same text), and refusals that name
// the parameter.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

#include <catch2/catch.hpp>

namespace kt::test {

/// `base` holds the family's other parameters (e.g. warps and kv=64),
/// valid for the problems below on `target`.
inline void checkSplitPack(const AttentionTemplate &t, const TargetDesc &target,
                           const Config &base) {
  auto decode =
      parseAttentionProblem("attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv131072_d128");
  const Config d = t.defaultConfig(*decode, target);
  REQUIRE(d.get("pack") == 1);
  REQUIRE(d.get("split") >= 8);
  bool split = false, pack = false;
  for (const Config &c : t.space(*decode, target)) {
    INFO(c.toString());
    REQUIRE(t.validate(c, *decode, target).isOk());
    split = split || c.get("split") > 1;
    pack = pack || c.get("pack") == 1;
  }
  REQUIRE(split);
  REQUIRE(pack);
  // Prefill keeps one CTA per tile: the tiles alone fill the GPU.
  auto prefill =
      parseAttentionProblem("attn_bf16_BSHD_b4_hq32_hkv8_sq4096_skv4096_d128");
  REQUIRE(t.defaultConfig(*prefill, target).get("split") == 1);
  for (const Config &c : t.space(*prefill, target)) {
    REQUIRE(c.get("split") == 1);
  }
  Config explicitly = base;
  explicitly.set("split", 1);
  explicitly.set("pack", 0);
  auto old = t.instantiate(base, *prefill, target);
  auto now = t.instantiate(explicitly, *prefill, target);
  INFO(old.status().toString());
  REQUIRE(old.isOk());
  REQUIRE(now.isOk());
  REQUIRE(old->text == now->text);
  auto mha = parseAttentionProblem("attn_bf16_BSHD_b1_hq8_hkv8_sq1_skv512_d64");
  auto with = [&](int64_t s, int64_t pk) {
    Config c = base;
    c.set("split", s);
    c.set("pack", pk);
    return t.validate(c, *mha, target);
  };
  REQUIRE_THAT(with(1, 1).message(),
               Catch::Contains("one query head per KV head"));
  REQUIRE_THAT(with(16, 0).message(),
               Catch::Contains("exceeds the 8 KV blocks"));
  REQUIRE_THAT(with(3, 0).message(), Catch::Contains("power of two"));
}

} // namespace kt::test
