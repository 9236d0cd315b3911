// Shared test helper: the `stages` parameter of the MLIR GPU attention
// families (1: synchronous K / V staging; 2: the next block fetched into
// registers during the compute) without a GPU: defaults write 1, the space
// offers both, a configuration stored without the key gives the stages=1
// text byte for byte, stages=2 another text that names it, and other values
// are refused with a message naming the parameter.
#pragma once

#include "ktune/templates/AttentionTemplate.h"

#include <catch2/catch.hpp>

#include <string>

namespace kt::test {

/// `base` holds the family's other parameters (without `stages`), valid
/// for a prefill and a split decode problem on `target`.
inline void checkStages(const AttentionTemplate &t, const TargetDesc &target,
                        const Config &base) {
  for (const char *sig : {"attn_bf16_BSHD_b1_hq8_hkv2_sq300_skv1000_d64_causal",
                          "attn_f16_BHSD_b1_hq32_hkv8_sq1_skv65536_d128"}) {
    auto p = parseAttentionProblem(sig);
    REQUIRE(p.isOk());
    INFO(p->key());
    REQUIRE(t.defaultConfig(*p, target).get("stages", -1) == 1);
    bool seen[2] = {false, false};
    for (const Config &c : t.space(*p, target)) {
      REQUIRE(c.has("stages"));
      seen[c.get("stages") - 1] = true;
    }
    REQUIRE(seen[0]);
    REQUIRE(seen[1]);

    Config one = base, two = base;
    one.set("stages", 1);
    two.set("stages", 2);
    auto old = t.instantiate(base, *p, target);
    auto sync = t.instantiate(one, *p, target);
    auto fetched = t.instantiate(two, *p, target);
    INFO(old.status().toString() << fetched.status().toString());
    REQUIRE(old.isOk());
    REQUIRE(sync.isOk());
    REQUIRE(fetched.isOk());
    REQUIRE(old->text == sync->text);
    REQUIRE_THAT(old->text, !Catch::Contains("stages="));
    REQUIRE(fetched->text != sync->text);
    REQUIRE_THAT(fetched->text, Catch::Contains(" stages=2"));
    // 16-byte K / V loads exist only in the prefetching text.
    REQUIRE_THAT(sync->text, !Catch::Contains("alignment = 16"));
    REQUIRE_THAT(fetched->text, Catch::Contains("alignment = 16"));
    for (int64_t v : {0, 3, 4}) {
      Config bad = base;
      bad.set("stages", v);
      REQUIRE_THAT(
          t.validate(bad, *p, target).message(),
          Catch::Contains("stages=" + std::to_string(v) + " must be 1 or 2"));
    }
  }
}

} // namespace kt::test
