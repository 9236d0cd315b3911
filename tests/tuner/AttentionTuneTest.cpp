// Attention tuning on the CPU with the real compiler and a real (in-memory)
// results store, and the numerics check catching wrong kernels.
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/Tuner.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace kt;

namespace {

AttentionProblem problem(const char *sig) {
  auto p = parseAttentionProblem(sig);
  REQUIRE(p.isOk());
  return *p;
}

} // namespace

TEST_CASE("attention tuning stores a verified winner with its code object",
          "[tuner]") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  auto store = openMemoryStore();
  REQUIRE(store.isOk());
  TuneOptions opt;
  opt.maxCandidates = 3;
  opt.progress = false;
  opt.maxMsPerCandidate = 20;
  Tuner tuner(device, compiler, **store, opt);
  AttentionProblem p =
      problem("attn_f32_BSHD_b1_hq4_hkv2_sq20_skv33_d16_causal");
  auto o = tuner.tuneAttention(p);
  INFO(o.status().toString());
  REQUIRE(o.isOk());
  REQUIRE(o->winner.has_value());
  CHECK(o->winner->op == "attention");
  CHECK(o->winner->problemKey == p.key());
  CHECK(o->winner->templateName == "cpu.attention.mlir");
  CHECK(o->winner->maxError <= 1.0);
  CHECK(o->candidates == 3);
  auto bin = (*store)->getBinary(o->winner->binaryHash);
  REQUIRE(bin.isOk());
  CHECK(bin->has_value());
  // Tuning again measures nothing twice.
  auto again = tuner.tuneAttention(p);
  REQUIRE(again.isOk());
  CHECK(again->candidates == 0);
  CHECK(again->skipped >= 1);
}

TEST_CASE("the attention numerics check catches wrong kernels", "[tuner]") {
  AttentionProblem p = problem("attn_f32_BHSD_b2_hq4_hkv1_sq9_skv300_d32");
  auto exact = [&](const float *q, const float *k, const float *v, float *o,
                   float scale) { referenceAttention(p, q, k, v, o, scale); };
  auto ok = checkAttention(exact, p, 5);
  REQUIRE(ok.isOk());
  CHECK(*ok == 0.0);
  auto skipsRow = [&](const float *q, const float *k, const float *v, float *o,
                      float scale) {
    std::vector<float> tmp(size_t(p.qElements()));
    referenceAttention(p, q, k, v, tmp.data(), scale);
    std::copy(tmp.begin(), tmp.end() - p.d, o); // The last row is not written.
  };
  auto r = checkAttention(skipsRow, p, 5);
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().message().find("did not write") != std::string::npos);
  // One key dropped from every row: about 1/300 of a V row off.
  auto dropsKey = [&](const float *q, const float *k, const float *v, float *o,
                      float scale) {
    AttentionProblem shorter = p;
    shorter.skv = p.skv - 1;
    std::vector<float> k2, v2;
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int64_t h = 0; h < p.hkv; ++h) {
        const float *kb = k + p.kvOffset(b, h, 0);
        const float *vb = v + p.kvOffset(b, h, 0);
        k2.insert(k2.end(), kb, kb + shorter.skv * p.d);
        v2.insert(v2.end(), vb, vb + shorter.skv * p.d);
      }
    }
    referenceAttention(shorter, q, k2.data(), v2.data(), o, scale);
  };
  CHECK_FALSE(checkAttention(dropsKey, p, 5).isOk());
}
