// cpu.attention.mlir through the real MLIR pipeline: every sampled problem
// (MHA, GQA, MQA, causal with short and long queries, decode, both layouts,
// ragged lengths, head dims 8 to 128) and configuration is compiled, run on
// every block and compared with a double-precision reference, with O
// poisoned with NaN first so a row the kernel skips is caught.
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuAttentionKernel.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/device/ThreadStack.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/AttentionBench.h"
#include "support/AttentionReference.h"
#include "support/MutateText.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>

using namespace kt;

namespace {

AttentionProblem attn(const char *sig) {
  auto p = parseAttentionProblem(sig);
  INFO(sig << ": " << p.status().toString());
  REQUIRE(p.isOk());
  return *p;
}

/// Q, K, V of a problem and the double-precision reference of O.
struct Inputs {
  std::vector<float> q, k, v;
  std::vector<double> ref;
  float scale = 0;
};

/// Q and K uniform in [-2, 2], V in [-1, 1], scale 1 / sqrt(d).
Inputs randomInputs(const AttentionProblem &p) {
  std::mt19937 rng(11);
  Inputs in;
  in.q = test::randomTensor(p.qElements(), rng, 2.0f);
  in.k = test::randomTensor(p.kvElements(), rng, 2.0f);
  in.v = test::randomTensor(p.kvElements(), rng);
  in.scale = 1.0f / std::sqrt(float(p.d));
  in.ref = test::attentionReference(p, in.q, in.k, in.v, in.scale);
  return in;
}

/// Inputs of large score spread: Q, K, V uniform in [-1, 1], K's quarter q
/// of the KV length scaled by 3.5^q (1, 3.5, 12.25, 42.9), scale 0.5. The
/// rows' maxima grow across quarters by far more than lazy rescaling's
/// threshold, and by small steps within the first: both of its paths run.
Inputs spreadInputs(const AttentionProblem &p) {
  std::mt19937 rng(9);
  Inputs in;
  in.q = test::randomTensor(p.qElements(), rng);
  in.k = test::randomTensor(p.kvElements(), rng);
  in.v = test::randomTensor(p.kvElements(), rng);
  for (size_t i = 0; i < in.k.size(); ++i) {
    const int64_t e = int64_t(i) / p.d;
    const int64_t key = p.layout == AttentionProblem::Layout::BSHD
                            ? e / p.hkv % p.skv
                            : e % p.skv;
    in.k[i] = float(in.k[i] * std::pow(3.5, double(4 * key / p.skv)));
  }
  in.scale = 0.5f;
  in.ref = test::attentionReference(p, in.q, in.k, in.v, in.scale);
  return in;
}

/// Compiles and loads `src`.
LoadedAttention loadSource(const CpuCompiler &compiler, CpuDevice &device,
                           const KernelSource &src, const std::string &id) {
  auto bin = compiler.compile(src, id);
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  auto loaded = loadAttention(device, bin->bytes);
  INFO(loaded.status().toString());
  REQUIRE(loaded.isOk());
  return std::move(*loaded);
}

/// Compiles `src` (an instance for `p` with `splits` KV splits), runs every
/// block on `in` and returns the worst |O - reference|, or infinity if an
/// element is not finite (O is poisoned with NaN first).
/// `via`, if given, runs the launch it is handed (on another thread, say).
double
runSource(const CpuCompiler &compiler, CpuDevice &device,
          const AttentionProblem &p, const KernelSource &src, int64_t splits,
          const Inputs &in,
          const std::function<void(const std::function<void()> &)> &via = {}) {
  const LoadedAttention loaded = loadSource(compiler, device, src, p.key());
  const CpuAttentionKernel *kernel = &loaded.kernel;
  REQUIRE(kernel->splits == splits);
  std::vector<float> o(size_t(p.qElements()),
                       std::numeric_limits<float>::quiet_NaN());
  const std::function<void()> launch = [&] {
    kernel->run(device.pool(), in.q.data(), in.k.data(), in.v.data(), o.data(),
                in.scale);
  };
  if (via) {
    via(launch);
  } else {
    launch();
  }
  double worst = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    if (!std::isfinite(o[i])) {
      return std::numeric_limits<double>::infinity();
    }
    worst = std::max(worst, std::fabs(double(o[i]) - in.ref[i]));
  }
  return worst;
}

/// The tuner's check of `src` (checkAttention: for bf16 tensors its bf16
/// tolerance; `pRounding` as AttentionTemplate::probabilityRounding says).
Result<double> checkSource(const CpuCompiler &compiler, CpuDevice &device,
                           const KernelSource &src, const AttentionProblem &p,
                           double pRounding = 0) {
  const LoadedAttention loaded = loadSource(compiler, device, src, p.key());
  return checkAttention(loaded.runner(device), p, 5, pRounding);
}

/// checkSource, required to pass.
void requirePasses(const CpuCompiler &compiler, CpuDevice &device,
                   const KernelSource &src, const AttentionProblem &p,
                   double pRounding = 0) {
  auto err = checkSource(compiler, device, src, p, pRounding);
  INFO(err.status().toString());
  REQUIRE(err.isOk());
  CHECK(*err <= 1.0);
}

/// The tests' set-up: a 2-thread CPU device, a compiler without a disk
/// cache, and the family (`t`, as findAttentionTemplate returns it).
struct AttentionFamily {
  CpuDevice device{2};
  CpuCompiler compiler{device.target(), ""};
  Result<const AttentionTemplate *> t = family();

  static Result<const AttentionTemplate *> family() {
    auto t = findAttentionTemplate("cpu.attention.mlir");
    REQUIRE(t.isOk());
    return t;
  }

  /// `c`'s instance of `p`. A bf16 instance must pass the tuner's check
  /// here and yields nothing; an f32 one is returned for the caller to run
  /// (runSource) and mutate.
  std::optional<KernelSource> f32Source(const Config &c,
                                        const AttentionProblem &p) {
    auto src = (*t)->instantiate(c, p, device.target());
    REQUIRE(src.isOk());
    if (p.dtype == DType::BF16) {
      requirePasses(compiler, device, *src, p);
      return std::nullopt;
    }
    return *src;
  }
};

/// runSource on `config`'s instance and random inputs.
double runOnce(const AttentionTemplate &t, const CpuCompiler &compiler,
               CpuDevice &device, const AttentionProblem &p,
               const Config &config) {
  auto src = t.instantiate(config, p, device.target());
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  return runSource(compiler, device, p, *src, config.get("split", 1),
                   randomInputs(p));
}

} // namespace

TEST_CASE_METHOD(AttentionFamily, "cpu.attention.mlir matches the reference",
                 "[compiler]") {
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
    // pr (rows per P V step) 1, 2, 4 and 8; a configuration without pr or
    // split (as stored before they existed) means 1, without pc V read in
    // place. Split-KV 2 to 16
    // where the problem has the key blocks (causal parts that see no key
    // included).
    std::vector<Config> configs = {
        (*t)->defaultConfig(p, device.target()),
        {{"bq", 1}, {"bkv", 16}, {"ku", 1}},
        {{"bq", 2}, {"bkv", 32}, {"ku", 4}, {"pr", 2}},
        {{"bq", 8}, {"bkv", 128}, {"ku", 8}, {"pr", 4}},
        {{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"pr", 1}, {"split", 2}},
        {{"bq", 4}, {"bkv", 16}, {"ku", 1}, {"pr", 2}, {"split", 4}},
        {{"bq", 1}, {"bkv", 16}, {"ku", 8}, {"pr", 1}, {"split", 16}},
        // P V from the packed V block, 8 columns per step (one chunk for
        // d 8, sixteen for d 128), with and without splits.
        {{"bq", 8}, {"bkv", 32}, {"ku", 4}, {"pr", 8}, {"pc", 8}},
        {{"bq", 2}, {"bkv", 16}, {"ku", 1}, {"pr", 2}, {"pc", 8}, {"split", 2}},
        {{"bq", 4}, {"bkv", 64}, {"ku", 4}, {"pr", 4}, {"pc", 8}, {"lazy", 1}},
        // Dot-product scores, 8 and 16 lanes, with the other forms.
        {{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}},
        {{"bq", 2}, {"bkv", 32}, {"ku", 2}, {"pr", 2}, {"dl", 8}},
        {{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"dl", 16}, {"split", 2}},
        {{"bq", 4},
         {"bkv", 64},
         {"ku", 1},
         {"pr", 4},
         {"pc", 8},
         {"dl", 8},
         {"lazy", 1}},
        // Software prefetches (the last keys' clamped to the sequence),
        // with both score forms.
        {{"bq", 2}, {"bkv", 16}, {"ku", 2}, {"pr", 2}, {"pf", 8}},
        {{"bq", 1},
         {"bkv", 32},
         {"ku", 4},
         {"dl", 8},
         {"split", 2},
         {"pf", 128}}};
    for (const Config &c : configs) {
      if (!(*t)->validate(c, p, device.target()).isOk()) {
        // Only splits may exceed the keys, only 16 lanes exceed d 8.
        REQUIRE((c.get("split", 1) > 1 || p.d % c.get("dl", 1) != 0));
        continue;
      }
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
  // Query tiles: per query head (4 x 3), or per KV head (2 x 3) with the
  // group's 2 heads packed into 64 rows.
  CHECK(c.queryTiles(16) == 2 * 4 * 3);
  CHECK(c.queryTiles(64) == 1 * 4 * 3);
  CHECK(c.queryTiles(16, 2) == 4 * 2 * 3);
  CHECK(p.queryTiles(64, 4) == 8);
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

TEST_CASE("cpu.attention.mlir splits decode KV across cores", "[compiler]") {
  CpuDevice device(2);
  auto t = findAttentionTemplate("cpu.attention.mlir");
  REQUIRE(t.isOk());
  const TargetDesc &target = device.target();
  // One (batch, KV head) block: the default splits it while cores are idle
  // (this machine's cores), the space offers splits up to 16.
  AttentionProblem mqa = attn("attn_f32_BSHD_b1_hq8_hkv1_sq1_skv65536_d128");
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t split = (*t)->defaultConfig(mqa, target).get("split");
  CHECK(split ==
        std::min<int64_t>(16, int64_t(std::bit_ceil(uint64_t(cores)))));
  bool offered[17] = {};
  for (const Config &c : (*t)->space(mqa, target)) {
    REQUIRE((*t)->validate(c, mqa, target).isOk());
    offered[c.get("split")] = true;
  }
  for (int s : {1, 2, 4, 8, 16}) {
    CHECK(offered[s]);
  }
  // Prefill has blocks enough: no splits offered or chosen.
  AttentionProblem prefill =
      attn("attn_f32_BSHD_b2_hq16_hkv16_sq1024_skv1024_d64_causal");
  CHECK((*t)->defaultConfig(prefill, target).get("split") == 1);
  for (const Config &c : (*t)->space(prefill, target)) {
    CHECK(c.get("split") == 1);
  }
  // Refusals name the parameter.
  AttentionProblem small = attn("attn_f32_BSHD_b1_hq4_hkv4_sq1_skv40_d64");
  auto many = (*t)->validate({{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"split", 4}},
                             small, target);
  CHECK_THAT(many.message(), Catch::Contains("exceeds the 3 blocks"));
  auto odd = (*t)->validate({{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"split", 3}},
                            small, target);
  CHECK_THAT(odd.message(), Catch::Contains("power of two up to 16"));
}

TEST_CASE_METHOD(
    AttentionFamily,
    "cpu.attention.mlir lazy rescaling stays exact where maxima jump",
    "[compiler]") {
  const char *problems[] = {
      "attn_f32_BSHD_b1_hq8_hkv2_sq200_skv200_d64_causal",
      "attn_f32_BHSD_b2_hq4_hkv4_sq37_skv300_d32",
      "attn_f32_BSHD_b1_hq8_hkv1_sq1_skv1000_d128", // decode, MQA, splits
  };
  // The eager softmax as a control, then lazy=1 with 1, 2, 4 and 8 rows per
  // P V step (8 from the packed V block) and with splits (each part keeps
  // its own stale maxima).
  const std::vector<Config> configs = {
      {{"bq", 8}, {"bkv", 16}, {"ku", 4}, {"pr", 2}},
      {{"bq", 8}, {"bkv", 16}, {"ku", 4}, {"pr", 2}, {"lazy", 1}},
      {{"bq", 1}, {"bkv", 32}, {"ku", 1}, {"pr", 1}, {"lazy", 1}},
      {{"bq", 16}, {"bkv", 64}, {"ku", 8}, {"pr", 4}, {"lazy", 1}},
      {{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"pr", 1}, {"split", 4}, {"lazy", 1}},
      {{"bq", 16}, {"bkv", 64}, {"ku", 4}, {"pr", 8}, {"pc", 16}, {"lazy", 1}},
  };
  // Mutations of the lazy text that these inputs must expose: a row's
  // outputs not rescaled when it moves its maximum, and P taken against
  // the new maximum while O and l keep the stale one.
  const std::pair<std::string, std::string> mutations[] = {
      {"arith.cmpf une, %ck", "arith.cmpf uno, %ck"},
      {"%mref = arith.select %dead, %zr, %mnew",
       "%mref = arith.select %dead, %zr, %mnext"}};
  for (const char *sig : problems) {
    const AttentionProblem p = attn(sig);
    const Inputs in = spreadInputs(p);
    for (const Config &c : configs) {
      INFO(sig << " " << c.toString());
      REQUIRE((*t)->validate(c, p, device.target()).isOk());
      auto src = (*t)->instantiate(c, p, device.target());
      REQUIRE(src.isOk());
      const int64_t splits = c.get("split", 1);
      CHECK(runSource(compiler, device, p, *src, splits, in) < 2e-5);
      if (c.get("lazy", 0) != 1) {
        CHECK(src->text.find("%grow") == std::string::npos);
        continue;
      }
      for (size_t mi = 0; mi < std::size(mutations); ++mi) {
        INFO("mutation " << mi);
        KernelSource bad = *src;
        bad.text = test::mutateAll(bad.text, mutations[mi].first,
                                   mutations[mi].second);
        const bool caught =
            runSource(compiler, device, p, bad, splits, in) > 2e-5;
        // The d 128 decode's last quarter (scores spread widest) outweighs
        // the rest by far and rises past the threshold at nearly every
        // block, so the stale maxima's error (mutation 1) may stay below
        // the tolerance there; every prefill instance exposes both.
        CHECK((caught || (mi == 1 && p.sq == 1)));
      }
    }
  }
  // Only 0 and 1 are variants.
  const AttentionProblem p = attn(problems[0]);
  auto bad = (*t)->validate({{"bq", 8}, {"bkv", 16}, {"ku", 4}, {"lazy", 2}}, p,
                            device.target());
  CHECK_THAT(bad.message(), Catch::Contains("lazy=2 must be 0 or 1"));
  bool offered[2] = {};
  for (const Config &c : (*t)->space(p, device.target())) {
    offered[c.get("lazy")] = true;
  }
  CHECK(offered[0]);
  CHECK(offered[1]);
}

TEST_CASE("cpu.attention.mlir defaults are valid for any head group",
          "[compiler]") {
  auto t = findAttentionTemplate("cpu.attention.mlir");
  REQUIRE(t.isOk());
  // With and without AVX-512 (the packed P V default is for blocks of 16
  // rows or more), for groups that are not powers of two too.
  auto host = parseTarget("cpu");
  REQUIRE(host.isOk());
  TargetDesc avx2 = *host, avx512 = *host;
  avx2.features = {"avx2", "fma"};
  avx512.features = {"avx2", "fma", "avx512f"};
  for (const TargetDesc &target : {avx2, avx512}) {
    for (int64_t group : {1, 2, 3, 4, 5, 6, 8, 12, 16}) {
      for (int64_t sq : {1, 3, 64, 1000}) {
        for (int64_t d : {8, 24, 64, 128, 256}) {
          AttentionProblem p;
          p.hkv = 2;
          p.hq = 2 * group;
          p.sq = sq;
          p.skv = 1000;
          p.d = d;
          const Config c = (*t)->defaultConfig(p, target);
          INFO(p.key() << " " << c.toString() << " on "
                       << target.featureString());
          CHECK((*t)->validate(c, p, target).isOk());
          const bool packed = c.get("pc") > 0;
          CHECK(packed == (d % 32 == 0 && c.get("bq") * group >= 16));
          // Dot-product scores for AVX2 blocks of up to 8 rows, and for
          // unpacked AVX-512 blocks of up to 16 rows (d a multiple of 16).
          const int64_t rows = c.get("bq") * group;
          const bool avx512 = target.hasFeature("avx512f");
          const int64_t dl = !avx512 ? (rows <= 8 ? 8 : 0)
                             : !packed && rows <= 16 && d % 16 == 0 ? 16
                                                                    : 0;
          CHECK(c.get("dl") == dl);
          // Several key/value heads per block only with dot products in
          // BSHD, at most 16 rows in all, dividing the key/value heads.
          const int64_t hb = c.get("hb");
          CHECK(p.hkv % hb == 0);
          CHECK((hb == 1 || (dl > 0 && hb * rows <= 16)));
        }
      }
    }
  }
  // MHA decode in BSHD: one row per head, so up to 16 heads per block
  // while the blocks still cover the cores; in BHSD one head.
  {
    const int64_t cores =
        std::max<int64_t>(1, std::thread::hardware_concurrency());
    AttentionProblem mha = attn("attn_f32_BSHD_b1_hq32_hkv32_sq1_skv4096_d128");
    const int64_t hb = (*t)->defaultConfig(mha, avx512).get("hb");
    INFO("cores " << cores << " hb " << hb);
    CHECK(32 / hb >= std::min<int64_t>(cores, 32));
    CHECK((hb == 16 || 32 / (2 * hb) < std::min<int64_t>(cores, 32)));
    CHECK((*t)->defaultConfig(mha, avx2).get("hb") == hb);
    mha.layout = AttentionProblem::Layout::BHSD;
    CHECK((*t)->defaultConfig(mha, avx512).get("hb") == 1);
  }
  // A prefill block on AVX-512: 64 rows, 8 per P V step, 32 columns.
  AttentionProblem p = attn("attn_f32_BSHD_b1_hq8_hkv8_sq1024_skv1024_d128");
  const Config c = (*t)->defaultConfig(p, avx512);
  CHECK(c.get("bq") == 64);
  CHECK(c.get("pr") == 8);
  CHECK(c.get("pc") == 32);
  CHECK(c.get("bkv") == 128);
  // Without AVX-512: 32 rows, 2 keys' scores and 2 rows by 32 columns of
  // P V per step, in half the 16 ymm registers.
  const Config c2 = (*t)->defaultConfig(p, avx2);
  CHECK(c2.get("bq") == 32);
  CHECK(c2.get("ku") == 2);
  CHECK(c2.get("pr") == 2);
  CHECK(c2.get("pc") == 32);
  // pc divides d in multiples of 8; 0 reads V in place.
  auto bad = (*t)->validate({{"bq", 8}, {"bkv", 16}, {"ku", 4}, {"pc", 48}}, p,
                            avx512);
  CHECK_THAT(bad.message(), Catch::Contains("pc=48"));
  CHECK(
      (*t)->validate({{"bq", 8}, {"bkv", 16}, {"ku", 4}, {"pc", 0}}, p, avx512)
          .isOk());
  bool offered[65] = {};
  for (const Config &s : (*t)->space(p, avx512)) {
    offered[s.get("pc")] = true;
    if (s.get("pc") > 0 || s.get("pr") == 8) {
      CHECK(s.get("pr") * (s.get("pc") > 0 ? s.get("pc") : p.d) <= 512);
    }
  }
  CHECK(offered[0]);
  CHECK(offered[32]);
  CHECK(offered[64]);
}

TEST_CASE("cpu.attention.mlir runs from a thread with a small stack",
          "[compiler]") {
  // The AVX-512 prefill default keeps about 160 KiB on the stack per block
  // (the largest configurations 384 KiB): a caller with a 128 KiB stack
  // must leave its blocks to the pool's workers, or with no workers to a
  // thread of the launch's own, and not overflow.
  CpuCompiler compiler(TargetDesc::host(), "");
  auto t = findAttentionTemplate("cpu.attention.mlir");
  REQUIRE(t.isOk());
  const AttentionProblem p =
      attn("attn_f32_BSHD_b1_hq4_hkv4_sq128_skv256_d128_causal");
  const Config c{{"bq", 64}, {"bkv", 256}, {"ku", 4}, {"pr", 8}, {"pc", 32}};
  for (int threads : {2, 1}) {
    CpuDevice device(threads);
    REQUIRE((*t)->validate(c, p, device.target()).isOk());
    auto src = (*t)->instantiate(c, p, device.target());
    REQUIRE(src.isOk());
    // Catch's assertions stay on this thread: the small one only launches.
    const double worst =
        runSource(compiler, device, p, *src, 1, randomInputs(p),
                  [](const std::function<void()> &launch) {
                    REQUIRE(runOnStack(int64_t(128) << 10, launch));
                  });
    INFO(threads << " threads");
    CHECK(worst < 2e-5);
  }
}

TEST_CASE_METHOD(AttentionFamily,
                 "cpu.attention.mlir dot-product scores for any row count",
                 "[compiler]") {
  // Rows (group x positions) that are not powers of two pad the lane-sum
  // tree; more sums than lanes take several groups; bf16 keys are widened.
  const char *problems[] = {
      "attn_f32_BSHD_b1_hq6_hkv2_sq5_skv77_d24_causal",
      "attn_f32_BHSD_b2_hq8_hkv1_sq1_skv133_d64",
      "attn_bf16_BSHD_b1_hq12_hkv4_sq2_skv90_d32",
  };
  for (const char *sig : problems) {
    const AttentionProblem p = attn(sig);
    const Inputs in = p.dtype == DType::F32 ? randomInputs(p) : Inputs{};
    for (int64_t dl : {8, 16}) {
      for (int64_t ku : {1, 2, 4}) {
        for (int64_t bq : {1, 2, 4}) {
          const Config c{{"bq", bq}, {"bkv", 16}, {"ku", ku}, {"dl", dl}};
          INFO(sig << " " << c.toString());
          const Status valid = (*t)->validate(c, p, device.target());
          if (!valid.isOk()) {
            // Lanes that do not divide d, or more than 64 sums per step.
            const bool lanes = p.d % dl != 0;
            REQUIRE((lanes || (p.hq / p.hkv) * bq * ku > 64));
            CHECK_THAT(valid.message(),
                       Catch::Contains(lanes ? "dl=16" : "at most 64"));
            continue;
          }
          const std::optional<KernelSource> src = f32Source(c, p);
          if (!src) {
            continue;
          }
          CHECK(runSource(compiler, device, p, *src, 1, in) < 2e-5);
          if (p.dtype == DType::F32 && ku == 2 && bq == 2) {
            // The tree's sums without the high halves of each pair.
            KernelSource bad = *src;
            bad.text = test::mutateAll(bad.text, "h : vector<", "l : vector<");
            CHECK(runSource(compiler, device, p, bad, 1, in) > 2e-5);
          }
        }
      }
    }
  }
  // Too many dot products per step are refused by name.
  const AttentionProblem p = attn(problems[0]);
  auto many = (*t)->validate({{"bq", 32}, {"bkv", 16}, {"ku", 2}, {"dl", 8}}, p,
                             device.target());
  CHECK_THAT(many.message(), Catch::Contains("at most 64"));
  // The space offers dot products to decode (8 and, with AVX-512, 16
  // lanes), never to prefill.
  auto host = parseTarget("cpu");
  REQUIRE(host.isOk());
  TargetDesc avx2 = *host, avx512 = *host;
  avx2.features = {"avx2", "fma"};
  avx512.features = {"avx2", "fma", "avx512f"};
  const AttentionProblem decode =
      attn("attn_f32_BSHD_b1_hq32_hkv4_sq1_skv4096_d128");
  const AttentionProblem prefill =
      attn("attn_f32_BSHD_b1_hq8_hkv8_sq1024_skv1024_d128_causal");
  for (const TargetDesc &target : {avx2, avx512}) {
    int offered[17] = {};
    for (const Config &c : (*t)->space(decode, target)) {
      ++offered[c.get("dl")];
    }
    // Beyond the default (always the first candidate), several of each.
    CHECK(offered[0] > 1);
    CHECK(offered[8] > 1);
    CHECK((offered[16] > 1) == target.hasFeature("avx512f"));
    for (const Config &c : (*t)->space(prefill, target)) {
      CHECK(c.get("dl") == 0);
    }
  }
}

TEST_CASE_METHOD(AttentionFamily,
                 "cpu.attention.mlir blocks of several key/value heads",
                 "[compiler]") {
  // hb heads per block: each head's rows score against and accumulate
  // that head's K and V, in both layouts, with splits and ragged tails.
  const char *problems[] = {
      "attn_f32_BSHD_b2_hq8_hkv8_sq1_skv133_d32",        // MHA decode
      "attn_f32_BSHD_b1_hq12_hkv4_sq2_skv90_d32_causal", // GQA, 3 x 2 rows
      "attn_f32_BHSD_b1_hq8_hkv4_sq3_skv77_d16",
      "attn_bf16_BSHD_b1_hq8_hkv4_sq1_skv70_d32",
  };
  for (const char *sig : problems) {
    const AttentionProblem p = attn(sig);
    const Inputs in = p.dtype == DType::F32 ? randomInputs(p) : Inputs{};
    for (int64_t hb : {2, 4, 8}) {
      for (const Config &base :
           {Config{{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}},
            Config{{"bq", 2}, {"bkv", 32}, {"ku", 2}, {"dl", 16}, {"pr", 2}},
            Config{{"bq", 1}, {"bkv", 16}, {"ku", 4}, {"dl", 8}, {"split", 2}},
            Config{
                {"bq", 4}, {"bkv", 16}, {"ku", 1}, {"dl", 16}, {"lazy", 1}}}) {
        Config c = base;
        c.set("hb", hb);
        INFO(sig << " " << c.toString());
        const Status valid = (*t)->validate(c, p, device.target());
        if (!valid.isOk()) {
          // hb beyond the key/value heads, lanes beyond d, too many sums.
          REQUIRE((p.hkv % hb != 0 || p.d % c.get("dl") != 0 ||
                   (p.hq / p.hkv) * c.get("bq") * c.get("ku") > 64 ||
                   (p.hq / p.hkv) * c.get("bq") % c.get("pr", 1) != 0));
          continue;
        }
        const std::optional<KernelSource> src = f32Source(c, p);
        if (!src) {
          continue;
        }
        CHECK(runSource(compiler, device, p, *src, c.get("split", 1), in) <
              2e-5);
        if (c.get("split", 1) == 1 && c.get("ku") == 1) {
          // Every head's rows scored against the first head's keys, or
          // accumulating the first head's values, are caught.
          for (const auto &[from, to] :
               {std::pair<std::string, std::string>{
                    "kRowH = arith.addi %kRow, ", "kRowH = arith.addi %c0, "},
                {"%kvBaseH = arith.addi %kvBase, %hOff",
                 "%kvBaseH = arith.addi %kvBase, %c0"}}) {
            KernelSource bad = *src;
            bad.text = test::mutateAll(bad.text, from, to);
            CHECK(runSource(compiler, device, p, bad, 1, in) > 2e-5);
          }
        }
      }
    }
  }
  // What several heads per block need is refused by name.
  const AttentionProblem p = attn(problems[1]);
  const TargetDesc &target = device.target();
  auto refused = [&](const Config &c, const char *what) {
    const Status s = (*t)->validate(c, p, target);
    INFO(c.toString());
    CHECK_THAT(s.message(), Catch::Contains(what));
  };
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}, {"hb", 3}},
          "1, 2, 4, 8 or 16");
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}, {"hb", 8}},
          "does not divide the 4 key/value heads");
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"hb", 2}},
          "need dot-product scores");
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}, {"pc", 8}, {"hb", 2}},
          "V read in place");
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 8}, {"pr", 2}, {"hb", 2}},
          "dividing a head's 3 rows");
  // The space offers them to BSHD decode, not to BHSD or prefill.
  auto offers = [&](const char *sig) {
    for (const Config &c : (*t)->space(attn(sig), target)) {
      if (c.get("hb") > 1) {
        return true;
      }
    }
    return false;
  };
  CHECK(offers("attn_f32_BSHD_b1_hq32_hkv4_sq1_skv4096_d128"));
  CHECK_FALSE(offers("attn_f32_BHSD_b1_hq32_hkv4_sq1_skv4096_d128"));
  CHECK_FALSE(offers("attn_f32_BSHD_b1_hq8_hkv8_sq1024_skv1024_d128_causal"));
}

TEST_CASE("cpu.attention.mlir bf16 dot products (vdpbf16ps)", "[compiler]") {
  auto t = findAttentionTemplate("cpu.attention.mlir");
  REQUIRE(t.isOk());
  CpuDevice device(2);
  const TargetDesc &host = device.target();
  // What bd needs is refused by name, on any host.
  TargetDesc bf16Host = host, plain = host;
  bf16Host.features = {"avx2", "avx512bf16", "avx512f", "fma"};
  plain.features = {"avx2", "avx512f", "fma"};
  const AttentionProblem pb =
      attn("attn_bf16_BSHD_b1_hq8_hkv2_sq40_skv77_d32_causal");
  const AttentionProblem pf =
      attn("attn_f32_BSHD_b1_hq8_hkv2_sq40_skv77_d32_causal");
  auto refused = [&](const Config &c, const AttentionProblem &p,
                     const TargetDesc &target, const char *what) {
    INFO(c.toString() << " " << p.key());
    CHECK_THAT((*t)->validate(c, p, target).message(), Catch::Contains(what));
  };
  const Config ok{{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"pc", 16}, {"bd", 2}};
  CHECK((*t)->validate(ok, pb, bf16Host).isOk());
  refused(ok, pb, plain, "AVX512-BF16");
  refused(ok, pf, bf16Host, "bf16 tensors (not f32)");
  refused({{"bq", 2}, {"bkv", 16}, {"ku", 2}, {"bd", 1}}, pb, bf16Host,
          "multiple of 16 rows per block (not 8)");
  // P V reads V packed in chunks of 16 columns or in place (d a multiple
  // of 16), with either score form.
  CHECK((*t)->validate({{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"bd", 2}}, pb,
                       bf16Host)
            .isOk());
  refused({{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"pc", 8}, {"bd", 2}}, pb,
          bf16Host, "(pc 0, not 8)");
  refused({{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"bd", 2}},
          attn("attn_bf16_BSHD_b1_hq8_hkv2_sq40_skv77_d24"), bf16Host,
          "for P V in place a multiple of 16 for d (not 24)");
  for (int64_t pc : {0, 16}) {
    CHECK((*t)->validate({{"bq", 1},
                          {"bkv", 16},
                          {"ku", 2},
                          {"dl", 16},
                          {"pc", pc},
                          {"bd", 2}},
                         pb, bf16Host)
              .isOk());
  }
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 2}, {"dl", 16}, {"bd", 1}},
          attn("attn_bf16_BSHD_b1_hq8_hkv2_sq40_skv77_d16"), bf16Host,
          "d a multiple of 2 dl = 32 (not 16)");
  refused({{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"bd", 3}}, pb, bf16Host, "bd=3");
  // The default and the space: bf16 prefill on AVX512-BF16 hosts only.
  const AttentionProblem prefill =
      attn("attn_bf16_BSHD_b1_hq8_hkv8_sq1024_skv1024_d128_causal");
  CHECK((*t)->defaultConfig(prefill, bf16Host).get("bd") == 2);
  CHECK((*t)->defaultConfig(prefill, plain).get("bd") == 0);
  AttentionProblem prefillF32 = prefill;
  prefillF32.dtype = DType::F32;
  CHECK((*t)->defaultConfig(prefillF32, bf16Host).get("bd") == 0);
  auto offered = [&](const AttentionProblem &p, const TargetDesc &target) {
    std::set<int64_t> bd;
    for (const Config &c : (*t)->space(p, target)) {
      bd.insert(c.get("bd"));
    }
    return bd;
  };
  CHECK(offered(prefill, bf16Host) == std::set<int64_t>{0, 1, 2});
  CHECK(offered(prefill, plain) == std::set<int64_t>{0});
  CHECK(offered(prefillF32, bf16Host) == std::set<int64_t>{0});
  // bf16 decode on AVX512-BF16 hosts: dot products with vdpbf16ps, and
  // with 8 or more rows per head P V too, 4 rows per step, V in place;
  // fewer rows per head keep f32 P V.
  const AttentionProblem decode =
      attn("attn_bf16_BSHD_b1_hq32_hkv4_sq1_skv8192_d128");
  CHECK((*t)->defaultConfig(decode, bf16Host).get("bd") == 2);
  CHECK((*t)->defaultConfig(decode, bf16Host).get("pr") == 4);
  CHECK((*t)->defaultConfig(decode, bf16Host).get("pc") == 0);
  CHECK((*t)->defaultConfig(decode, bf16Host).get("dl") == 16);
  CHECK((*t)->defaultConfig(decode, plain).get("bd") == 0);
  CHECK(offered(decode, bf16Host) == std::set<int64_t>{0, 1, 2});
  for (const char *sig : {"attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128",
                          "attn_bf16_BSHD_b1_hq32_hkv32_sq1_skv8192_d128"}) {
    INFO(sig);
    CHECK((*t)->defaultConfig(attn(sig), bf16Host).get("bd") == 1);
  }
  // Their blocks take whole runs of a key's heads (all 4 here, 32 rows)
  // with the KV split over the cores where each part keeps 2048 keys or
  // more; shorter KV keeps blocks of at most 16 rows, and so do BHSD and
  // f32.
  {
    const int64_t cores =
        std::max<int64_t>(1, std::thread::hardware_concurrency());
    const int64_t parts = int64_t(std::bit_ceil(uint64_t(cores)));
    const AttentionProblem longKv =
        attn("attn_bf16_BSHD_b1_hq32_hkv4_sq1_skv131072_d128");
    const Config c = (*t)->defaultConfig(longKv, bf16Host);
    INFO("cores " << cores << " " << c.toString());
    CHECK(c.get("hb") == (131072 / parts >= 2048 ? 4 : 2));
    CHECK(c.get("split") == std::min<int64_t>(16, parts / (4 / c.get("hb"))));
    CHECK((*t)->validate(c, longKv, bf16Host).isOk());
    // 12 rows per head: 4 heads (48 rows) are the most within 64.
    const AttentionProblem rows12 =
        attn("attn_bf16_BSHD_b1_hq48_hkv4_sq1_skv131072_d128");
    const Config c12 = (*t)->defaultConfig(rows12, bf16Host);
    INFO(c12.toString());
    CHECK(c12.get("hb") == c.get("hb"));
    CHECK((*t)->validate(c12, rows12, bf16Host).isOk());
    for (const char *sig : {"attn_bf16_BSHD_b1_hq32_hkv4_sq1_skv1024_d128",
                            "attn_bf16_BHSD_b1_hq32_hkv4_sq1_skv131072_d128",
                            "attn_f32_BSHD_b1_hq32_hkv4_sq1_skv131072_d128"}) {
      INFO(sig);
      CHECK(8 * (*t)->defaultConfig(attn(sig), bf16Host).get("hb") <= 16);
    }
  }
  if (!host.hasFeature("avx512bf16")) {
    WARN("this host lacks AVX512-BF16: bd kernels are not run");
    return;
  }
  // Kernels: scores alone and with P V, odd key blocks (77 keys, blocks
  // of 16: the last pair padded), causal, GQA and MHA, splits, lazy; and
  // decode's dot products (8 and 16 lanes, several heads per block).
  CpuCompiler compiler(host, "");
  const char *problems[] = {
      "attn_bf16_BSHD_b1_hq8_hkv2_sq40_skv77_d32_causal",
      "attn_bf16_BHSD_b2_hq4_hkv4_sq33_skv50_d64",
      "attn_bf16_BSHD_b1_hq16_hkv1_sq5_skv129_d16",
      "attn_bf16_BSHD_b2_hq12_hkv4_sq1_skv133_d64",
      "attn_bf16_BSHD_b1_hq32_hkv4_sq1_skv301_d64",
  };
  for (const char *sig : problems) {
    const AttentionProblem p = attn(sig);
    for (const Config &c :
         {Config{{"bq", 16}, {"bkv", 16}, {"ku", 2}, {"bd", 1}},
          Config{{"bq", 16},
                 {"bkv", 32},
                 {"ku", 4},
                 {"pc", 16},
                 {"pr", 4},
                 {"bd", 2}},
          Config{{"bq", 4},
                 {"bkv", 16},
                 {"ku", 1},
                 {"pc", 16},
                 {"pr", 8},
                 {"bd", 2},
                 {"split", 2},
                 {"lazy", 1}},
          Config{{"bq", 32},
                 {"bkv", 64},
                 {"ku", 4},
                 {"pc", 32},
                 {"pr", 8},
                 {"bd", 2}},
          Config{{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 16}, {"bd", 1}},
          Config{{"bq", 1},
                 {"bkv", 32},
                 {"ku", 2},
                 {"dl", 8},
                 {"hb", 2},
                 {"bd", 1},
                 {"split", 2}},
          Config{{"bq", 1},
                 {"bkv", 16},
                 {"ku", 4},
                 {"dl", 16},
                 {"hb", 4},
                 {"bd", 1}},
          // P V from V in place: dot-product scores (one and two heads per
          // block, split, with prefetches) and broadcast scores.
          Config{{"bq", 1},
                 {"bkv", 16},
                 {"ku", 1},
                 {"dl", 16},
                 {"pr", 4},
                 {"bd", 2},
                 {"pf", 8}},
          Config{{"bq", 1},
                 {"bkv", 32},
                 {"ku", 2},
                 {"dl", 8},
                 {"hb", 2},
                 {"pr", 2},
                 {"bd", 2},
                 {"split", 2},
                 {"pf", 16}},
          Config{{"bq", 1},
                 {"bkv", 16},
                 {"ku", 1},
                 {"dl", 8},
                 {"hb", 2},
                 {"bd", 2}},
          Config{{"bq", 1},
                 {"bkv", 32},
                 {"ku", 1},
                 {"dl", 16},
                 {"hb", 4},
                 {"pr", 4},
                 {"bd", 2},
                 {"split", 2},
                 {"pf", 32}},
          // Several rows per accumulator (dr).
          Config{{"bq", 1},
                 {"bkv", 32},
                 {"ku", 1},
                 {"dl", 16},
                 {"hb", 4},
                 {"pr", 4},
                 {"bd", 2},
                 {"split", 2},
                 {"pf", 32},
                 {"dr", 4}},
          Config{{"bq", 1},
                 {"bkv", 16},
                 {"ku", 2},
                 {"dl", 8},
                 {"bd", 1},
                 {"dr", 2}},
          Config{{"bq", 16}, {"bkv", 16}, {"ku", 2}, {"pr", 8}, {"bd", 2}}}) {
      INFO(sig << " " << c.toString());
      if (!(*t)->validate(c, p, host).isOk()) {
        // Broadcast scores: rows that are not a multiple of 16, or pc
        // beyond d. Dot products: d not a multiple of 2 dl, more than 64
        // sums, heads that do not divide hkv, dr not dividing a head's
        // rows. Either: pr not dividing a head's rows.
        const int64_t hr = (p.hq / p.hkv) * c.get("bq");
        REQUIRE((hr % c.get("pr", 1) != 0 ||
                 (c.get("dl", 0) == 0
                      ? hr % 16 != 0 ||
                            p.d % std::max<int64_t>(1, c.get("pc", 0)) != 0
                      : p.d % (2 * c.get("dl")) != 0 || hr * c.get("ku") > 64 ||
                            p.hkv % c.get("hb", 1) != 0 ||
                            hr % c.get("dr", 1) != 0)));
        continue;
      }
      auto src = (*t)->instantiate(c, p, host);
      REQUIRE(src.isOk());
      CHECK_THAT(src->text, Catch::Contains("x86vector.avx512.dot"));
      const double pRounding = (*t)->probabilityRounding(c);
      CHECK(pRounding == (c.get("bd") == 2 ? std::ldexp(1.0, -8) : 0.0));
      requirePasses(compiler, device, *src, p, pRounding);
      if (c.get("split", 1) == 1) {
        // Unscaled scores; with bf16 P V, the padded key of an odd block
        // taking its partner's probability and value row (counting that
        // key twice) and the two keys of a V pair swapped are caught.
        using Edits = std::vector<std::pair<std::string, std::string>>;
        std::vector<Edits> mutations = {
            {{"%s = arith.mulf %su, %scaleR", "%s = arith.addf %su, %zr"}}};
        // In place the odd block's last key is a loop of its own, whose
        // omission is caught too.
        const bool inPlace = c.get("pc", 0) == 0;
        if (c.get("bd") == 2) {
          mutations.push_back(
              {inPlace ? Edits::value_type{"%bv0 = vector.shuffle %xa0, %xb0",
                                           "%bv0 = vector.shuffle %xb0, %xa0"}
                       : Edits::value_type{"%xi = vector.shuffle %xa, %xb",
                                           "%xi = vector.shuffle %xb, %xa"}});
        }
        if (c.get("bd") == 2 && (p.causal || (p.skv % c.get("bkv")) % 2 == 1)) {
          // Some block has an odd number of keys.
          mutations.push_back(
              {{"%pbv = arith.select %hasB, %pbl, %zr",
                "%pbv = arith.select %hasB, %pbl, %pbl"},
               inPlace
                   ? Edits::value_type{"%xa0, %zpc", "%xa0, %xa0"}
                   : Edits::value_type{"%xb = arith.select %hasB, %xb0, %zpc",
                                       "%xb = arith.select %hasB, %xb0, "
                                       "%xb0"}});
          if (inPlace) {
            mutations.push_back(
                {{"%jp = %nkvF to %nkvP", "%jp = %nkvF to %nkvF"}});
          }
        }
        if (c.get("pf", 0) > 0) {
          CHECK_THAT(src->text, Catch::Contains("memref.prefetch %K"));
          CHECK_THAT(src->text, Catch::Contains("memref.prefetch %V"));
        }
        for (const Edits &edits : mutations) {
          KernelSource bad = *src;
          for (const auto &[from, to] : edits) {
            bad.text = test::mutateAll(bad.text, from, to);
          }
          INFO(edits.front().first);
          CHECK(!checkSource(compiler, device, bad, p, pRounding).isOk());
        }
      }
    }
  }
}

TEST_CASE_METHOD(AttentionFamily,
                 "cpu.attention.mlir dot products of several rows per "
                 "accumulator",
                 "[compiler]") {
  // dr rows per accumulator: their runs of d side by side against the
  // key's run repeated, summed in blocks of dl / dr lanes; f32 and widened
  // bf16, 8 and 16 lanes, several keys, heads per block, splits, causal
  // and ragged tails.
  const char *problems[] = {
      "attn_f32_BSHD_b2_hq16_hkv2_sq1_skv133_d64",      // 8 rows per head
      "attn_f32_BHSD_b1_hq8_hkv2_sq2_skv90_d32_causal", // 4 x 2 rows
      "attn_f32_BSHD_b1_hq16_hkv4_sq1_skv70_d16",       // 4 rows, d 16
      "attn_bf16_BSHD_b1_hq8_hkv1_sq1_skv77_d32",       // widened bf16
  };
  for (const char *sig : problems) {
    const AttentionProblem p = attn(sig);
    const Inputs in = p.dtype == DType::F32 ? randomInputs(p) : Inputs{};
    for (int64_t dr : {2, 4}) {
      for (const Config &base :
           {Config{{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 16}},
            Config{{"bq", 2}, {"bkv", 32}, {"ku", 2}, {"dl", 8}, {"pr", 2}},
            Config{{"bq", 1},
                   {"bkv", 16},
                   {"ku", 4},
                   {"dl", 16},
                   {"hb", 2},
                   {"split", 2},
                   {"pf", 16}},
            Config{
                {"bq", 2}, {"bkv", 16}, {"ku", 1}, {"dl", 8}, {"lazy", 1}}}) {
        Config c = base;
        c.set("dr", dr);
        INFO(sig << " " << c.toString());
        const int64_t hr = (p.hq / p.hkv) * c.get("bq");
        if (!(*t)->validate(c, p, device.target()).isOk()) {
          // dr not dividing a head's rows, lanes beyond d, hb beyond the
          // key/value heads or (BHSD) more than one.
          REQUIRE((hr % dr != 0 || p.d % c.get("dl") != 0 ||
                   p.hkv % c.get("hb", 1) != 0 ||
                   p.layout == AttentionProblem::Layout::BHSD));
          continue;
        }
        const std::optional<KernelSource> src = f32Source(c, p);
        if (!src) {
          continue;
        }
        CHECK(runSource(compiler, device, p, *src, c.get("split", 1), in) <
              2e-5);
        if (dr == 4 && c.get("dl") == 16) {
          // The key's run must reach every row of the accumulator in the
          // same order: a second copy with two elements swapped is caught.
          KernelSource bad = *src;
          bad.text = test::mutateAll(bad.text, "[0, 1, 2, 3, 0, 1, 2, 3,",
                                     "[0, 1, 2, 3, 1, 0, 2, 3,");
          REQUIRE(bad.text != src->text);
          CHECK(runSource(compiler, device, p, bad, c.get("split", 1), in) >
                2e-5);
        }
      }
    }
  }
  // Refusals name what is missing.
  const AttentionProblem p = attn("attn_f32_BSHD_b1_hq12_hkv4_sq1_skv90_d32");
  auto refused = [&](const Config &c, const char *what) {
    INFO(c.toString());
    CHECK_THAT((*t)->validate(c, p, device.target()).message(),
               Catch::Contains(what));
  };
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 16}, {"dr", 3}},
          "1, 2 or 4");
  refused({{"bq", 4}, {"bkv", 16}, {"ku", 1}, {"dr", 2}},
          "need dot-product scores");
  refused({{"bq", 1}, {"bkv", 16}, {"ku", 1}, {"dl", 16}, {"dr", 2}},
          "dividing a key/value head's 3 rows");
  // The space offers dr to decode-like problems; every default keeps 1.
  auto offered = [&](const char *sig) {
    std::set<int64_t> dr;
    for (const Config &c : (*t)->space(attn(sig), device.target())) {
      dr.insert(c.get("dr"));
    }
    return dr;
  };
  CHECK(offered("attn_f32_BSHD_b1_hq32_hkv4_sq1_skv4096_d128") ==
        std::set<int64_t>{1, 2, 4});
  CHECK(offered("attn_f32_BSHD_b1_hq8_hkv8_sq256_skv256_d64") ==
        std::set<int64_t>{1});
  CHECK((*t)->defaultConfig(attn("attn_f32_BSHD_b1_hq32_hkv4_sq1_skv4096_d128"),
                            device.target())
            .get("dr") == 1);
}

TEST_CASE_METHOD(AttentionFamily, "cpu.attention.mlir software prefetches",
                 "[compiler]") {
  // pf keys ahead: prefetch instructions in the code object, none without.
  const AttentionProblem p = attn("attn_f32_BSHD_b1_hq8_hkv1_sq1_skv300_d64");
  const Config base{{"bq", 1}, {"bkv", 32}, {"ku", 2}, {"dl", 16}};
  Config with = base;
  with.set("pf", 32);
  for (const auto &[c, expected] : {std::pair{base, false}, {with, true}}) {
    INFO(c.toString());
    auto src = (*t)->instantiate(c, p, device.target());
    REQUIRE(src.isOk());
    auto asmText = compiler.emit(*src, EmitStage::Asm);
    REQUIRE(asmText.isOk());
    CHECK((asmText->find("prefetcht0") != std::string::npos) == expected);
  }
  // Distances are powers of two in 8..128.
  for (int64_t pf : {4, 24, 256}) {
    Config c = base;
    c.set("pf", pf);
    CHECK_THAT((*t)->validate(c, p, device.target()).message(),
               Catch::Contains("prefetch distance"));
  }
  // Defaults: bf16 decode on AVX512-BF16 hosts with 8 or more rows per
  // head (with bd=2); not f32, fewer rows per head, prefill or AVX2 hosts.
  TargetDesc avx512 = device.target(), avx2 = device.target();
  avx512.features = {"avx2", "avx512bf16", "avx512f", "avx512vl", "fma"};
  avx2.features = {"avx2", "fma"};
  const AttentionProblem mqa =
      attn("attn_bf16_BSHD_b1_hq8_hkv1_sq1_skv8192_d128");
  CHECK((*t)->defaultConfig(mqa, avx512).get("pf") == 32);
  CHECK((*t)->defaultConfig(mqa, avx2).get("pf") == 0);
  for (const char *sig : {"attn_f32_BSHD_b1_hq32_hkv4_sq1_skv8192_d128",
                          "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128",
                          "attn_bf16_BSHD_b1_hq32_hkv32_sq1_skv8192_d128",
                          "attn_bf16_BSHD_b1_hq8_hkv1_sq1024_skv1024_d128"}) {
    INFO(sig);
    CHECK((*t)->defaultConfig(attn(sig), avx512).get("pf") == 0);
  }
  // The space offers them to decode-like problems only.
  auto offered = [&](const AttentionProblem &q) {
    std::set<int64_t> pf;
    for (const Config &c : (*t)->space(q, avx512)) {
      pf.insert(c.get("pf"));
    }
    return pf;
  };
  CHECK(offered(mqa) == std::set<int64_t>{0, 32});
  CHECK(offered(attn("attn_bf16_BSHD_b1_hq8_hkv1_sq512_skv512_d64")) ==
        std::set<int64_t>{0});
}

TEST_CASE_METHOD(AttentionFamily,
                 "cpu.attention.mlir rounds bf16 outputs to nearest even",
                 "[compiler]") {
  // On bf16-representable inputs the f32 and bf16 instances of one
  // configuration compute the same f32 values; the bf16 output must be
  // exactly those rounded to nearest even (not truncated).
  const AttentionProblem pf =
      attn("attn_f32_BSHD_b1_hq4_hkv2_sq9_skv40_d32_causal");
  const AttentionProblem pb =
      attn("attn_bf16_BSHD_b1_hq4_hkv2_sq9_skv40_d32_causal");
  Inputs in = randomInputs(pf);
  auto toBf16 = [](float x) {
    uint32_t u = std::bit_cast<uint32_t>(x);
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
  };
  auto widen = [](uint16_t h) {
    return std::bit_cast<float>(uint32_t(h) << 16);
  };
  std::vector<uint16_t> qb, kb, vb;
  for (auto [f, b] : {std::pair{&in.q, &qb}, {&in.k, &kb}, {&in.v, &vb}}) {
    for (float &x : *f) {
      b->push_back(toBf16(x));
      x = widen(b->back());
    }
  }
  const Config c{{"bq", 4}, {"bkv", 16}, {"ku", 2}, {"pr", 2}};
  auto run = [&](const AttentionProblem &p, const void *q, const void *k,
                 const void *v, void *o) {
    auto src = (*t)->instantiate(c, p, device.target());
    REQUIRE(src.isOk());
    loadSource(compiler, device, *src, p.key())
        .runner(device)(q, k, v, o, in.scale);
  };
  std::vector<float> of(size_t(pf.qElements()));
  std::vector<uint16_t> ob(size_t(pb.qElements()));
  run(pf, in.q.data(), in.k.data(), in.v.data(), of.data());
  run(pb, qb.data(), kb.data(), vb.data(), ob.data());
  int64_t rounded = 0; // Outputs where rounding differs from truncation.
  for (size_t i = 0; i < of.size(); ++i) {
    INFO(i << ": " << of[i]);
    REQUIRE(ob[i] == toBf16(of[i]));
    rounded += ob[i] != uint16_t(std::bit_cast<uint32_t>(of[i]) >> 16);
  }
  CHECK(rounded > 0);
}
