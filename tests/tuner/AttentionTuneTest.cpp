// Attention tuning on the CPU with the real compiler and a real (in-memory)
// results store, and the numerics check catching wrong kernels.
#include "kt/kt.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/Tuner.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

#include <unistd.h>

using namespace kt;

namespace {

/// The f32 problems' tensors as floats.
const float *f32(const void *p) { return static_cast<const float *>(p); }

AttentionProblem problem(const char *sig) {
  auto p = parseAttentionProblem(sig);
  REQUIRE(p.isOk());
  return *p;
}

/// Tuning options for tests: `candidates` per problem, short timing, quiet.
TuneOptions quickOptions(int candidates) {
  TuneOptions opt;
  opt.maxCandidates = candidates;
  opt.progress = false;
  opt.maxMsPerCandidate = 20;
  return opt;
}

} // namespace

TEST_CASE("attention tuning stores a verified winner with its code object",
          "[tuner]") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  auto store = openMemoryStore();
  REQUIRE(store.isOk());
  Tuner tuner(device, compiler, **store, quickOptions(3));
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
  // Tuning again measures nothing twice, and walks the first run's path:
  // its refinement step too, which needs the stored times.
  auto again = tuner.tuneAttention(p);
  REQUIRE(again.isOk());
  CHECK(again->candidates == 0);
  CHECK(again->skipped == o->candidates);
}

TEST_CASE("the attention numerics check catches wrong kernels", "[tuner]") {
  AttentionProblem p = problem("attn_f32_BHSD_b2_hq4_hkv1_sq9_skv300_d32");
  auto exact = [&](const void *q, const void *k, const void *v, void *o,
                   float scale) {
    referenceAttention(p, f32(q), f32(k), f32(v), static_cast<float *>(o),
                       scale);
  };
  auto ok = checkAttention(exact, p, 5);
  REQUIRE(ok.isOk());
  CHECK(*ok == 0.0);
  auto skipsRow = [&](const void *q, const void *k, const void *v, void *o,
                      float scale) {
    std::vector<float> tmp(size_t(p.qElements()));
    referenceAttention(p, f32(q), f32(k), f32(v), tmp.data(), scale);
    // The last row is not written.
    std::copy(tmp.begin(), tmp.end() - p.d, static_cast<float *>(o));
  };
  auto r = checkAttention(skipsRow, p, 5);
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().message().find("did not write") != std::string::npos);
  // One key dropped from every row: about 1/300 of a V row off.
  auto dropsKey = [&](const void *qv, const void *kv, const void *vv, void *ov,
                      float scale) {
    const float *q = f32(qv), *k = f32(kv), *v = f32(vv);
    float *o = static_cast<float *>(ov);
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

TEST_CASE("bf16 attention tunes and its check catches a wrong kernel",
          "[tuner]") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  auto store = openMemoryStore();
  REQUIRE(store.isOk());
  Tuner tuner(device, compiler, **store, quickOptions(2));
  AttentionProblem p =
      problem("attn_bf16_BSHD_b1_hq8_hkv2_sq33_skv70_d64_causal");
  auto o = tuner.tuneAttention(p);
  INFO(o.status().toString());
  REQUIRE(o.isOk());
  REQUIRE(o->winner.has_value());
  CHECK(o->winner->maxError <= 1.0);
  // Every candidate (the default among them: P V from the packed V block
  // on AVX-512) within the bf16 tolerance.
  CHECK(o->failed == 0);
  if (device.target().hasFeature("avx512bf16")) {
    // The default there rounds P to bf16 (bd=2): the tuner's check admits
    // that bound for it, and the candidate is stored as measured.
    auto all = (*store)->measurements(p.key(), "cpu");
    REQUIRE(all.isOk());
    bool roundedP = false;
    for (const TuningRecord &r : *all) {
      roundedP = roundedP || (r.params.find("bd=2") != std::string::npos &&
                              r.status == "ok");
    }
    CHECK(roundedP);
  }
  // A kernel that writes zeros is caught, and an unwritten (NaN) output.
  auto zeros = [&](const void *, const void *, const void *, void *out, float) {
    std::fill_n(static_cast<uint16_t *>(out), p.qElements(), uint16_t(0));
  };
  CHECK_FALSE(checkAttention(zeros, p, 3).isOk());
  auto nothing = [&](const void *, const void *, const void *, void *, float) {
  };
  auto r = checkAttention(nothing, p, 3);
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().message().find("did not write") != std::string::npos);
}

TEST_CASE("kt.h looks up and runs tuned attention kernels", "[tuner]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("ktune-attn-lookup-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "results.db").string();
  AttentionProblem p =
      problem("attn_f32_BHSD_b2_hq4_hkv2_sq24_skv40_d32_causal");
  {
    CpuDevice device(2);
    CpuCompiler compiler(device.target(), "");
    auto store = openSqliteStore(db);
    REQUIRE(store.isOk());
    Tuner tuner(device, compiler, **store, quickOptions(2));
    auto o = tuner.tuneAttention(p);
    REQUIRE(o.isOk());
    REQUIRE(o->winner.has_value());
  }
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = db.c_str();
  kt_context *ctx = nullptr;
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  kt_attention_desc d;
  kt_attention_desc_init(&d);
  d.layout = KT_BHSD;
  d.batch = 2;
  d.heads_q = 4;
  d.heads_kv = 2;
  d.seq_q = 24;
  d.seq_kv = 40;
  d.head_dim = 32;
  d.causal = 1;
  kt_kernel *kernel = nullptr;
  INFO(kt_context_last_error(nullptr));
  REQUIRE(kt_attention_lookup(ctx, &d, &kernel) == KT_OK);
  kt_kernel *bySig = nullptr;
  REQUIRE(kt_lookup(ctx, p.key().c_str(), &bySig) == KT_OK);
  CHECK(bySig == kernel);

  RotatingAttentionArgs args(p, 0, 9);
  std::vector<float> o(size_t(p.qElements()),
                       std::numeric_limits<float>::quiet_NaN());
  std::vector<float> ref(size_t(p.qElements()));
  REQUIRE(kt_attention_launch_cpu(ctx, kernel, args.q(0), args.k(0), args.v(0),
                                  o.data(), 0.0f) == KT_OK);
  referenceAttention(p, f32(args.q(0)), f32(args.k(0)), f32(args.v(0)),
                     ref.data(), 1.0f / std::sqrt(32.0f));
  double worst = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    worst = std::isfinite(o[i])
                ? std::max(worst, double(std::fabs(o[i] - ref[i])))
                : 1e9;
  }
  CHECK(worst < 1e-4);
  // A CPU kernel is not launched as a CUDA one: a clear error, no crash.
  CHECK(kt_attention_launch_cuda(ctx, kernel, nullptr, args.q(0), args.k(0),
                                 args.v(0), o.data(), 0.0f,
                                 nullptr) == KT_UNAVAILABLE);
  CHECK_THAT(kt_context_last_error(ctx),
             Catch::Contains("kt_attention_launch_cpu"));

  // Another shape is a miss, counted, and recorded in the file.
  d.seq_q = 25;
  CHECK(kt_attention_lookup(ctx, &d, &kernel) == KT_NOT_FOUND);
  CHECK(kernel == nullptr);
  // A GEMM launch of an attention kernel is refused.
  CHECK(kt_gemm_launch_cpu(ctx, bySig, o.data(), o.data(), o.data(), 1, 0) ==
        KT_UNAVAILABLE);
  kt_context_destroy(ctx);
  auto store = openSqliteStore(db, /*readOnly=*/true);
  REQUIRE(store.isOk());
  auto misses = (*store)->misses();
  REQUIRE(misses.isOk());
  REQUIRE(misses->size() == 1);
  CHECK((*misses)[0].problemKey ==
        "attn_f32_BHSD_b2_hq4_hkv2_sq25_skv40_d32_causal");
  std::filesystem::remove_all(dir);
}
