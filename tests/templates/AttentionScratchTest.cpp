// The split-KV scratch every GPU attention template asks for: for each
// split configuration of its tuning space, the launch description must
// reserve what a split of a tile keeps (rows x (d + 8) floats: outputs, row
// maxima and sums) and a semaphore per tile. No GPU or compiler needed:
// instantiate() only writes the source.
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/templates/attention/CudaAttentionSm100.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "ktune/templates/attention/HipAttentionMlir.h"

#include <catch2/catch.hpp>

#include <regex>
#include <string>

using namespace kt;

namespace {

/// The largest f32 memref of an MLIR kernel's text (its workspace), 0 if
/// none.
uint64_t largestF32Memref(const std::string &text) {
  static const std::regex memref("memref<([0-9]+)xf32>");
  uint64_t most = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), memref);
       it != std::sregex_iterator(); ++it) {
    most = std::max<uint64_t>(most, std::stoull((*it)[1].str()));
  }
  return most;
}

/// Checks every split configuration `t` offers for `p` on `target`; returns
/// how many there were.
int checkScratch(const AttentionTemplate &t, const char *target,
                 const char *problem) {
  const TargetDesc tgt = *parseTarget(target);
  auto p = parseAttentionProblem(problem);
  REQUIRE(p.isOk());
  int splits = 0;
  for (const Config &c : t.space(*p, tgt)) {
    auto src = t.instantiate(c, *p, tgt);
    INFO(t.name() << " " << problem << " " << c.toString());
    REQUIRE(src.isOk());
    auto spec = cuda::parseAttentionLaunchSpec(src->launch);
    REQUIRE(spec.isOk());
    if (spec->split <= 1) {
      REQUIRE(cuda::attentionWorkspaceBytes(*spec, *p) == 0);
      continue;
    }
    ++splits;
    const uint64_t ctas = cuda::attentionGridSize(*spec, *p);
    const uint64_t floats = cuda::attentionWorkspaceBytes(*spec, *p) / 4;
    REQUIRE(floats >= ctas * uint64_t(spec->rows) * uint64_t(p->d + 8));
    REQUIRE(cuda::attentionSemaphores(*spec, *p) * spec->split >= ctas);
    if (src->language == "mlir") {
      // The MLIR forms size their workspace memref exactly.
      REQUIRE(largestF32Memref(src->text) > 0);
      REQUIRE(largestF32Memref(src->text) <= floats);
    }
  }
  return splits;
}

} // namespace

TEST_CASE("every split-KV attention kernel gets the scratch it keeps") {
  const char *problems[] = {
      "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128",    // decode, GQA 4:1
      "attn_f16_BHSD_b2_hq8_hkv1_sq3_skv30000_d64",      // MQA, a few rows
      "attn_bf16_BSHD_b1_hq2_hkv2_sq200_skv16384_d128"}; // short prefill
  for (const char *p : problems) {
    CHECK(checkScratch(CudaAttentionSm90(), "cuda:sm_90a", p) > 0);
    CHECK(checkScratch(CudaAttentionSm100(), "cuda:sm_100a", p) > 0);
    CHECK(checkScratch(CudaAttentionMlir(), "cuda:sm_90a", p) > 0);
    CHECK(checkScratch(HipAttentionMfma(), "hip:gfx950", p) > 0);
    CHECK(checkScratch(HipAttentionMlir(), "hip:gfx942", p) > 0);
  }
}
