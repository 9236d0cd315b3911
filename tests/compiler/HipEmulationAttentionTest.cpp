// hip.attention.mfma's generated kernels executed on the host CPU under an
// emulation of the wave64 execution model, the MFMA instructions and
// ds_bpermute (HipEmulation.h), against a double-precision reference.
//
// This is verification of the same template on another target: it checks
// the kernel's logic (query-tile and head indexing, GQA packing, both
// layouts, K / V^T staging in LDS, the transposed products' fragment
// layouts, causal and ragged masking, the online softmax, split-KV merging)
// given our reading of the documented MFMA operand and result layouts; it
// does not check the hardware, whose actual layouts, memory-model ordering,
// concurrency and timing only an AMD GPU can show. Workgroups run one after
// another, so the split-KV semaphore sees splits in sequence and cannot
// expose a race.
//
// Each kernel runs twice, in order and with workgroups and work-items
// reversed (the last split to arrive is then split 0); the outputs must be
// bitwise equal and the semaphores zero after each. O and the workspace
// start as NaN, Q / K / V are read-only, and every buffer ends at an
// inaccessible page. Tolerance as on the GPU: |O - ref| <= 8e-3 + 2^-7 |ref|
// (P is rounded to 16 bits before P V), softmax scale 0.5.
//
// lazy=1 (the stale running maximum, O rescaled only when a query of the
// wave outgrows it by more than 8 in log2 units) runs on some of the same
// cases plus inputs of large score spread: K's quarters of the KV length are
// scaled by 1, 3.5, 12.25 and 42.9, so the running maxima grow by far more
// than the threshold across quarters (and by small steps within one).
// Mutations of the lazy text (O not rescaled at the crossing, the maximum
// never moved after the first block, P taken against the new maximum while
// O keeps the stale one) must fail there, which shows that both the rescale
// and the stale path run.
#include "compiler/HipEmulation.h"
#include "compiler/HipEmulationText.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "support/AttentionReference.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace kt;
using namespace kt::test;

namespace {

struct AttentionCase {
  std::string arch;
  AttentionProblem p;
  Config config = {}; // empty: the family's default configuration
  bool lazy = false;  // lazy=1 added to the configuration
  double growth = 1;  // K's quarter q of the KV length scaled by growth^q
};

constexpr auto problem = &test::attentionProblem;

Config cfg(int64_t waves, int64_t mi, int64_t kv, int64_t stages, int64_t split,
           int64_t pack) {
  return {{"waves", waves},   {"mi", mi},       {"kv", kv},
          {"stages", stages}, {"split", split}, {"pack", pack}};
}

std::vector<AttentionCase> attentionCases() {
  using L = AttentionProblem::Layout;
  const DType bf = DType::BF16, f16 = DType::F16;
  std::vector<AttentionCase> out;
  for (const char *arch : {"gfx950", "gfx942"}) {
    // Prefill defaults (four waves of 16 rows, 64-key blocks, double
    // buffered where the LDS allows): causal GQA, d 64 and 128.
    out.push_back({arch, problem(bf, L::BSHD, 2, 4, 2, 150, 150, 64, true)});
    out.push_back({arch, problem(f16, L::BSHD, 1, 4, 2, 90, 90, 128, true)});
    // Two 16-row blocks per wave, 32-key single-buffered blocks, a ragged
    // KV length (200 = 6 x 32 + 8), BHSD.
    out.push_back({arch, problem(f16, L::BHSD, 1, 2, 2, 70, 200, 128, false),
                   cfg(2, 2, 32, 1, 1, 0)});
    // Causal with more queries than keys: the first 70 rows see no key and
    // are 0; MQA; 128-key blocks.
    out.push_back({arch, problem(bf, L::BSHD, 2, 4, 1, 200, 130, 64, true),
                   cfg(1, 2, 128, 1, 1, 0)});
    // Causal prefill continuing a cache (sq < skv), GQA 3:1, d 128.
    out.push_back({arch, problem(bf, L::BHSD, 1, 3, 1, 100, 250, 128, true),
                   cfg(4, 1, 32, 2, 1, 0)});
    // Decode defaults: the GQA group packed into one wave (pack=1), the KV
    // length split.
    out.push_back({arch, problem(bf, L::BSHD, 2, 16, 2, 1, 1000, 128, false)});
    // Causal decode of 3 queries packed 4 to a KV head, split 4, BHSD.
    out.push_back({arch, problem(f16, L::BHSD, 1, 8, 2, 3, 777, 64, true),
                   cfg(1, 1, 64, 2, 4, 1)});
    // Head dim 256 (single-buffered 32-key blocks on gfx942), a tile of 64
    // rows holding 40.
    out.push_back({arch, problem(bf, L::BHSD, 1, 2, 1, 40, 100, 256, false)});
    // Split-KV with 128-row tiles (eight waves), MHA.
    out.push_back({arch, problem(f16, L::BHSD, 1, 2, 2, 100, 600, 64, false),
                   cfg(8, 1, 64, 1, 2, 0)});

    // lazy=1. The causal GQA prefill default.
    out.push_back(
        {arch, problem(bf, L::BSHD, 2, 4, 2, 150, 150, 64, true), {}, true});
    // Large score spread: the running maxima grow by more than 128 (log2
    // units) over the blocks; causal GQA, two 16-row blocks per wave (two
    // queries per lane in the vote), and a d128 BHSD prefill in fp16.
    out.push_back({arch, problem(bf, L::BSHD, 1, 4, 2, 200, 300, 64, true),
                   cfg(2, 2, 32, 2, 1, 0), true, 3.5});
    out.push_back({arch, problem(f16, L::BHSD, 1, 2, 1, 90, 400, 128, false),
                   cfg(4, 1, 64, 1, 1, 0), true, 3.5});
    // Decode, packed and split 16 (the default) with large spread: the
    // splits' stale maxima differ by far more than 8 and are merged as
    // they are.
    out.push_back({arch,
                   problem(bf, L::BSHD, 2, 16, 2, 1, 1000, 128, false),
                   {},
                   true,
                   3.5});
    // Causal decode of 3 queries packed 4 to a KV head, split 4.
    out.push_back({arch, problem(f16, L::BHSD, 1, 8, 2, 3, 777, 64, true),
                   cfg(1, 1, 64, 2, 4, 1), true, 3.5});
    // Rows that see no key (causal, more queries than keys), MQA.
    out.push_back({arch, problem(bf, L::BSHD, 2, 4, 1, 200, 130, 64, true),
                   cfg(1, 2, 128, 1, 1, 0), true});
  }
  return out;
}

using KernelFn = void (*)(const uint16_t *, const uint16_t *, const uint16_t *,
                          uint16_t *, int, int, int, int, int, float, float *,
                          unsigned *);

/// What two launches of a kernel gave.
struct Outcome {
  Status status;              ///< Of the launches (the emulation's checks).
  bool semaphoresZero = true; ///< After each launch.
  bool sameBits = true;       ///< Both orders wrote the same O.
  int bad = 0;                ///< Elements outside the tolerance.
  bool ok() const {
    return status.isOk() && semaphoresZero && sameBits && bad == 0;
  }
};

/// Runs one instantiated kernel, twice; K's quarter q of the KV length is
/// scaled by growth^q.
Outcome runAttention(const hipemu::HostKernel &kernel, const KernelSource &src,
                     const AttentionProblem &p, uint32_t seed,
                     double growth = 1) {
  auto spec = cuda::parseAttentionLaunchSpec(src.launch);
  REQUIRE(spec.isOk());
  REQUIRE(!spec->pointers);
  const unsigned grid = cuda::attentionGridSize(*spec, p);
  const uint64_t wsBytes = cuda::attentionWorkspaceBytes(*spec, p);
  const uint64_t sems = cuda::attentionSemaphores(*spec, p);
  const float scale = 0.5f;

  const DType dt = p.dtype;
  std::mt19937 rng(seed);
  auto tensor = [&](int64_t n, std::vector<float> &rounded, bool keys) {
    std::vector<float> x = randomTensor(n, rng);
    std::vector<uint16_t> bits(x.size());
    rounded.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      if (keys && growth != 1) {
        const int64_t e = int64_t(i) / p.d;
        const int64_t key = p.layout == AttentionProblem::Layout::BSHD
                                ? e / p.hkv % p.skv
                                : e % p.skv;
        x[i] = float(x[i] * std::pow(growth, double(4 * key / p.skv)));
      }
      bits[i] = toBits(dt, x[i]);
      rounded[i] = fromBits(dt, bits[i]);
    }
    return bits;
  };
  std::vector<float> qf, kf, vf;
  const std::vector<uint16_t> q = tensor(p.qElements(), qf, false);
  const std::vector<uint16_t> k = tensor(p.kvElements(), kf, true);
  const std::vector<uint16_t> v = tensor(p.kvElements(), vf, false);
  const std::vector<double> ref = attentionReference(p, qf, kf, vf, scale);

  hipemu::DeviceBuffer dQ("Q", q.size() * 2), dK("K", k.size() * 2),
      dV("V", v.size() * 2), dO("O", q.size() * 2), dWs("workspace", wsBytes),
      dSem("semaphores", sems * 4);
  std::memcpy(dQ.data(), q.data(), q.size() * 2);
  std::memcpy(dK.data(), k.data(), k.size() * 2);
  std::memcpy(dV.data(), v.data(), v.size() * 2);
  if (sems > 0) {
    std::memset(dSem.data(), 0, sems * 4); // zeroed once, left zeroed
  }
  dQ.setReadOnly(true);
  dK.setReadOnly(true);
  dV.setReadOnly(true);
  // What hip::launchAttention checks and passes (HipAttentionLaunch.h).
  cuda::AttentionOperands ops;
  ops.q = reinterpret_cast<uint64_t>(dQ.data());
  ops.k = reinterpret_cast<uint64_t>(dK.data());
  ops.v = reinterpret_cast<uint64_t>(dV.data());
  ops.o = reinterpret_cast<uint64_t>(dO.data());
  ops.scale = scale;
  ops.workspace = reinterpret_cast<uint64_t>(dWs.data());
  ops.semaphores = reinterpret_cast<uint64_t>(dSem.data());
  Status check = cuda::checkAttentionOperands(*spec, p, ops, false);
  INFO(check.toString());
  REQUIRE(check.isOk());
  const float scaleLog2 = cuda::attentionScaleLog2(p, scale);

  const auto fn = reinterpret_cast<KernelFn>(kernel.entry());
  const uint16_t nan = dt == DType::BF16 ? 0x7FC0 : 0x7E00;
  Outcome o;
  std::vector<uint16_t> out[2];
  for (int run = 0; run < 2; ++run) {
    std::fill(dO.as<uint16_t>(), dO.as<uint16_t>() + q.size(), nan);
    if (wsBytes > 0) {
      std::memset(dWs.data(), 0xFF, wsBytes);
    }
    o.status = hipemu::launch(
        kernel, unsigned(spec->threads), hipemu::gridOrder(grid, run == 1),
        run == 1, [&] {
          fn(dQ.as<uint16_t>(), dK.as<uint16_t>(), dV.as<uint16_t>(),
             dO.as<uint16_t>(), int(p.batch), int(p.hq), int(p.hkv), int(p.sq),
             int(p.skv), scaleLog2, dWs.as<float>(), dSem.as<unsigned>());
        });
    if (!o.status.isOk()) {
      o.status = o.status.withContext(run == 0 ? "in order" : "reversed");
      return o;
    }
    for (uint64_t i = 0; i < sems; ++i) {
      o.semaphoresZero = o.semaphoresZero && dSem.as<unsigned>()[i] == 0;
    }
    out[run].assign(dO.as<uint16_t>(), dO.as<uint16_t>() + q.size());
  }
  o.sameBits = out[0] == out[1];

  int &bad = o.bad;
  for (size_t i = 0; i < out[0].size(); ++i) {
    const double got = fromBits(dt, out[0][i]);
    const double tol = 8e-3 + std::ldexp(std::fabs(ref[i]), -7);
    if (!(std::fabs(got - ref[i]) <= tol) && bad++ < 5) {
      UNSCOPED_INFO("O[" << i << "] = " << got << ", expected " << ref[i]);
    }
  }
  return o;
}

/// Instantiates `config` (empty: the default) for `p` on `arch`, with
/// lazy=1 if `lazy`.
KernelSource instantiate(const std::string &arch, const AttentionProblem &p,
                         const Config &config, bool lazy = false) {
  HipAttentionMfma t;
  auto target = parseTarget("hip:" + arch);
  REQUIRE(target.isOk());
  Config c = config.values().empty() ? t.defaultConfig(p, *target) : config;
  if (lazy) {
    c.set("lazy", 1);
  }
  return instantiateValid(t, arch, p, c);
}

} // namespace

TEST_CASE("hip.attention.mfma kernels compute attention under the host "
          "emulation of wave64, MFMA and ds_bpermute") {
  const std::vector<AttentionCase> cases = attentionCases();
  std::vector<KernelSource> sources;
  std::vector<std::pair<std::string, std::string>> texts;
  for (const AttentionCase &c : cases) {
    sources.push_back(instantiate(c.arch, c.p, c.config, c.lazy));
    texts.emplace_back(sources.back().text, sources.back().entry);
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < cases.size(); ++i) {
    const AttentionCase &c = cases[i];
    // The text's first line names the problem, arch and configuration.
    INFO(sources[i].text.substr(0, sources[i].text.find('\n'))
         << "; launch " << sources[i].launch);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o =
        runAttention(**kernel, sources[i], c.p, uint32_t(77 + i), c.growth);
    INFO(o.status.toString());
    REQUIRE(o.status.isOk());
    REQUIRE(o.semaphoresZero);
    REQUIRE(o.sameBits);
    REQUIRE(o.bad == 0);
  }
}

TEST_CASE("sampled hip.attention.mfma configurations of the tuning space "
          "compute attention under the host emulation") {
  using L = AttentionProblem::Layout;
  HipAttentionMfma t;
  std::vector<AttentionProblem> problems;
  std::vector<KernelSource> sources;
  std::vector<std::pair<std::string, std::string>> texts;
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto target = parseTarget(std::string("hip:") + arch);
    REQUIRE(target.isOk());
    // Configurations spread over the spaces of a causal GQA prefill and of
    // a decode of 5 queries.
    const std::pair<AttentionProblem, size_t> picks[] = {
        {problem(DType::F16, L::BHSD, 1, 4, 2, 100, 260, 64, true), 4},
        {problem(DType::BF16, L::BSHD, 2, 4, 2, 5, 300, 128, false), 3}};
    for (const auto &[p, n] : picks) {
      const std::vector<Config> space = t.space(p, *target);
      REQUIRE(space.size() >= n);
      for (size_t i = 0; i < n; ++i) {
        problems.push_back(p);
        sources.push_back(
            instantiate(arch, p, space[(2 * i + 1) * space.size() / (2 * n)]));
        texts.emplace_back(sources.back().text, sources.back().entry);
      }
    }
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < problems.size(); ++i) {
    INFO(sources[i].text.substr(0, sources[i].text.find('\n'))
         << "; launch " << sources[i].launch);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o =
        runAttention(**kernel, sources[i], problems[i], uint32_t(300 + i));
    INFO(o.status.toString());
    REQUIRE(o.status.isOk());
    REQUIRE(o.semaphoresZero);
    REQUIRE(o.sameBits);
    REQUIRE(o.bad == 0);
  }
}

// The checks above would notice a broken kernel: each mutation of a
// correct kernel text must fail them.
TEST_CASE("the attention emulation fails kernels with a wrong mask, "
          "softmax or split merge") {
  const AttentionProblem p = problem(
      DType::BF16, AttentionProblem::Layout::BSHD, 1, 4, 2, 40, 300, 64, true);
  const KernelSource src = instantiate("gfx942", p, cfg(2, 1, 32, 2, 2, 0));
  struct Mutation {
    const char *what, *from, *to;
  } mutations[] = {
      {"the causal mask one key late", "+ r >= lim[i]) {", "+ r > lim[i]) {"},
      {"the running sum not rescaled", "l[i] *= alpha;", ""},
      {"row maxima over two of a query's four lanes",
       "mx = __builtin_fmaxf(mx, kt_xor(mx, 32, lane));", ""},
      {"split partials merged without their maxima",
       "? 0.0f : kt_exp2(mh - top);", "? 0.0f : 1.0f;"},
  };
  std::vector<std::pair<std::string, std::string>> texts;
  for (const Mutation &m : mutations) {
    texts.emplace_back(mutateOnce(src.text, m.from, m.to), src.entry);
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO(mutations[i].what);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o = runAttention(**kernel, src, p, 5);
    INFO(o.status.toString()
         << " semaphores zero " << o.semaphoresZero << ", same bits "
         << o.sameBits << ", bad " << o.bad);
    REQUIRE(!o.ok());
  }
}

// Lazy rescaling: on inputs whose running maxima grow by far more than the
// threshold across quarters of the KV length and by small steps within
// them, where the lazy kernels pass, a lazy kernel that skips the rescale at
// the crossing, that never moves the maximum after the first block (P
// beyond 2^128: f32 overflows), or that takes P against the grown maximum
// while O and l keep the stale one must fail, on both chips; so must a lazy
// split merge without the splits' (stale) maxima.
TEST_CASE("the attention emulation fails lazy kernels that rescale wrongly") {
  using L = AttentionProblem::Layout;
  const AttentionProblem prefill =
      problem(DType::BF16, L::BSHD, 1, 4, 2, 200, 300, 64, true);
  const AttentionProblem decode =
      problem(DType::F16, L::BHSD, 1, 8, 2, 3, 777, 64, true);
  struct Mutation {
    const char *what, *from, *to;
    bool split;
  } mutations[] = {
      {"O not rescaled when the threshold is crossed", "o[db][i] *= scale;", "",
       false},
      {"the maximum never moved after the first block",
       "over = over || grown[i] - m[i] > 8.0f;",
       "over = over || (m[i] == KT_NEG_INF && grown[i] != KT_NEG_INF);", false},
      {"P against the grown maximum, O and l at the stale one",
       "base[i] = m[i] == KT_NEG_INF ? 0.0f : m[i];",
       "base[i] = grown[i] == KT_NEG_INF ? 0.0f : grown[i];", false},
      {"split partials merged without their stale maxima",
       "? 0.0f : kt_exp2(mh - top);", "? 0.0f : 1.0f;", true},
  };
  std::vector<KernelSource> sources;
  std::vector<const AttentionProblem *> problems;
  std::vector<std::string> what;
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<bool> intact;
  for (const char *arch : {"gfx950", "gfx942"}) {
    const KernelSource pre =
        instantiate(arch, prefill, cfg(2, 2, 32, 2, 1, 0), true);
    const KernelSource dec =
        instantiate(arch, decode, cfg(1, 1, 64, 2, 4, 1), true);
    // The kernels as generated pass on the same inputs.
    for (const KernelSource *src : {&pre, &dec}) {
      sources.push_back(*src);
      problems.push_back(src == &pre ? &prefill : &decode);
      what.push_back(std::string(arch) + ": as generated");
      texts.emplace_back(src->text, src->entry);
      intact.push_back(true);
    }
    for (const Mutation &m : mutations) {
      const KernelSource &src = m.split ? dec : pre;
      sources.push_back(src);
      problems.push_back(m.split ? &decode : &prefill);
      what.push_back(std::string(arch) + ": " + m.what);
      texts.emplace_back(mutateOnce(src.text, m.from, m.to), src.entry);
      intact.push_back(false);
    }
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO(what[i]);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o = runAttention(**kernel, sources[i], *problems[i], 9, 3.5);
    INFO(o.status.toString()
         << " semaphores zero " << o.semaphoresZero << ", same bits "
         << o.sameBits << ", bad " << o.bad);
    REQUIRE(o.ok() == intact[i]);
  }
}
