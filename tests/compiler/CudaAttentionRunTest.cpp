// cuda.attention.sm90 (sm100) on a real sm_90a (sm_100a) GPU: sampled
// configurations (GQA packing and split-KV included) against a host
// reference; tests/support/GpuAttentionCheck.h has the cases and the check.
// sm90's lazy softmax also runs on inputs of large score spread (below).
// Each case is skipped (and reported so) without a GPU of its arch.
#include "ktune/templates/attention/CudaAttentionSm100.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "support/GpuAttentionCheck.h"
#include "support/GpuGemmCheck.h"
#include "support/MutateText.h"
#include "support/Sm90AttentionConfig.h"

#include <iterator>
#include <string>
#include <utility>

using namespace kt;

namespace {

/// Q, K, V of `p` (bits and their values) with K's quarter q of the KV
/// length scaled by growth^q, and the double reference (softmax scale 0.5).
/// With growth 3.5 (K scaled by 1, 3.5, 12.25, 42.9) the running maxima grow
/// across quarters by far more than the lazy softmax's threshold (8 in log2
/// units), and by small steps within the first quarter: both of its paths
/// run.
struct SpreadInputs {
  std::vector<uint16_t> q, k, v;
  std::vector<double> ref;
};

SpreadInputs spreadInputs(const AttentionProblem &p, double growth,
                          std::mt19937 &rng) {
  auto tensor = [&](int64_t n, std::vector<float> &rounded, bool keys) {
    std::vector<float> x = test::randomTensor(n, rng);
    std::vector<uint16_t> bits(x.size());
    rounded.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      if (keys) {
        const int64_t e = int64_t(i) / p.d;
        const int64_t key = p.layout == AttentionProblem::Layout::BSHD
                                ? e / p.hkv % p.skv
                                : e % p.skv;
        x[i] = float(x[i] * std::pow(growth, double(4 * key / p.skv)));
      }
      bits[i] = test::toBits(p.dtype, x[i]);
      rounded[i] = test::fromBits(p.dtype, bits[i]);
    }
    return bits;
  };
  SpreadInputs in;
  std::vector<float> qf, kf, vf;
  in.q = tensor(p.qElements(), qf, false);
  in.k = tensor(p.kvElements(), kf, true);
  in.v = tensor(p.kvElements(), vf, false);
  in.ref = test::attentionReference(p, qf, kf, vf, 0.5);
  return in;
}

/// Runs `src` (an instance for `p`) once on `in`, O poisoned with NaN
/// first, and returns how many outputs are outside the GPU tolerance.
int64_t spreadMismatches(cuda::Context &ctx, const CudaCompiler &compiler,
                         const KernelSource &src, const AttentionProblem &p,
                         const SpreadInputs &in, const std::string &identity) {
  auto bin = compiler.compile(src, identity);
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  auto mod = ctx.loadModule(bin->cubin);
  REQUIRE(mod.isOk());
  auto fn = mod->function(src.entry);
  REQUIRE(fn.isOk());
  auto spec = cuda::parseAttentionLaunchSpec(src.launch);
  REQUIRE(spec.isOk());
  auto dQ = ctx.alloc(in.q.size() * 2);
  auto dK = ctx.alloc(in.k.size() * 2);
  auto dV = ctx.alloc(in.v.size() * 2);
  auto dO = ctx.alloc(in.q.size() * 2);
  REQUIRE((dQ.isOk() && dK.isOk() && dV.isOk() && dO.isOk()));
  REQUIRE(ctx.copyToDevice(*dQ, in.q.data(), in.q.size() * 2).isOk());
  REQUIRE(ctx.copyToDevice(*dK, in.k.data(), in.k.size() * 2).isOk());
  REQUIRE(ctx.copyToDevice(*dV, in.v.data(), in.v.size() * 2).isOk());
  const uint32_t nan = p.dtype == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
  REQUIRE(ctx.fill32(*dO, nan, in.q.size() / 2).isOk());
  cuda::AttentionOperands ops{dQ->ptr(), dK->ptr(), dV->ptr(), dO->ptr(), 0.5f};
  const uint64_t wsBytes = cuda::attentionWorkspaceBytes(*spec, p);
  const uint64_t sems = cuda::attentionSemaphores(*spec, p);
  cuda::DeviceBuffer ws, sem;
  if (wsBytes > 0) {
    ws = std::move(ctx.alloc(wsBytes).value());
    sem = std::move(ctx.alloc(sems * 4).value());
    REQUIRE(ctx.fill32(sem, 0, sems).isOk());
    ops.workspace = ws.ptr();
    ops.semaphores = sem.ptr();
  }
  // smCount 0: one CTA per work unit, persistent or not.
  auto prepared = cuda::prepareAttention(ctx, *fn, *spec, p, ops, 0);
  INFO(prepared.status().toString());
  REQUIRE(prepared.isOk());
  Status s = cuda::launchPrepared(ctx, *prepared);
  INFO(s.toString());
  REQUIRE(s.isOk());
  Status sync = ctx.synchronize();
  INFO(sync.toString());
  REQUIRE(sync.isOk());
  std::vector<uint16_t> out(in.q.size());
  REQUIRE(ctx.copyToHost(out.data(), *dO, out.size() * 2).isOk());
  int64_t bad = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const double got = test::fromBits(p.dtype, out[i]);
    const double tol = 8e-3 + std::ldexp(std::fabs(in.ref[i]), -7);
    bad += !(std::fabs(got - in.ref[i]) <= tol);
  }
  return bad;
}

} // namespace

TEST_CASE("sm90 attention kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  const std::vector<Config> configs = {
      test::sm90AttentionConfig(128, 2, 2, 1, 0),
      test::sm90AttentionConfig(64, 3, 2, 1, 0),
      test::sm90AttentionConfig(192, 1, 2, 1, 0),
      test::sm90AttentionConfig(64, 1, 4, 1, 0),
      test::sm90AttentionConfig(128, 1, 3, 4, 1),
      test::sm90AttentionConfig(64, 1, 3, 8, 1),
      test::sm90AttentionConfig(128, 1, 2, 2, 0),
      test::sm90AttentionConfig(64, 2, 4, 1, 1),
      // overlap=1: two score accumulators (kv 64); the cases' odd and even
      // block counts take both of its tails, split 16 over 1000 keys leaves
      // each split one block.
      test::sm90AttentionConfig(64, 2, 2, 1, 0, 1),
      test::sm90AttentionConfig(64, 1, 3, 1, 1, 1),
      test::sm90AttentionConfig(64, 1, 2, 16, 1, 1),
      // overlap=2 (split 32 over 3000 keys: splits of one block and of
      // none), and consumers taking turns (two and three).
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2),
      test::sm90AttentionConfig(192, 1, 3, 1, 0, 2),
      test::sm90AttentionConfig(64, 1, 2, 32, 1, 2),
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1),
      test::sm90AttentionConfig(64, 3, 3, 1, 0, 2, 1),
      test::sm90AttentionConfig(64, 2, 2, 2, 1, 2, 1),
      // lazy=1 in each block loop, prefill and packed split decode.
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 1),
      test::sm90AttentionConfig(128, 1, 3, 4, 1, 0, 0, 1),
      test::sm90AttentionConfig(64, 2, 2, 1, 0, 1, 0, 1),
      test::sm90AttentionConfig(64, 1, 2, 16, 1, 1, 0, 1),
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1, 1),
      test::sm90AttentionConfig(64, 1, 2, 32, 1, 2, 0, 1),
      // persist=1 in each block loop (runAttentionOnGpu launches 5 CTAs,
      // then one per SM): pingpong, lazy, packed heads, 3-4 stages.
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 0, 1),
      test::sm90AttentionConfig(64, 1, 4, 1, 1, 0, 0, 0, 1),
      test::sm90AttentionConfig(64, 2, 2, 1, 0, 1, 0, 0, 1),
      test::sm90AttentionConfig(64, 1, 3, 1, 1, 1, 0, 1, 1),
      test::sm90AttentionConfig(64, 3, 2, 1, 0, 2, 0, 1, 1),
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1, 1, 1),
      test::sm90AttentionConfig(192, 1, 3, 1, 0, 2, 0, 0, 1)};
  test::runAttentionOnGpu(CudaAttentionSm90(), *compiler, *gpu, configs);
}

TEST_CASE("sm90 lazy attention stays exact where the maxima jump") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  auto ctx = cuda::Context::open(gpu->ordinal);
  REQUIRE(ctx.isOk());
  const CudaAttentionSm90 t;
  const TargetDesc target = compiler->target();
  using L = AttentionProblem::Layout;
  const AttentionProblem problems[] = {
      test::attentionProblem(DType::BF16, L::BSHD, 2, 8, 2, 700, 700, 128,
                             true),
      test::attentionProblem(DType::F16, L::BHSD, 2, 4, 4, 300, 1000, 64,
                             false),
      test::attentionProblem(DType::BF16, L::BSHD, 2, 16, 2, 1, 3000, 128,
                             false), // decode
      test::attentionProblem(DType::F16, L::BHSD, 2, 8, 2, 3, 2000, 64, true)};
  // The eager softmax as a control, then lazy=1 in each block loop.
  const std::vector<Config> configs = {
      test::sm90AttentionConfig(128, 2, 2, 1, 0),
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 1),
      test::sm90AttentionConfig(64, 2, 2, 1, 0, 1, 0, 1),
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1, 1),
      test::sm90AttentionConfig(64, 3, 3, 1, 0, 2, 1, 1),
      test::sm90AttentionConfig(128, 1, 3, 8, 1, 0, 0, 1),
      test::sm90AttentionConfig(64, 1, 2, 16, 1, 1, 0, 1),
      test::sm90AttentionConfig(64, 1, 3, 8, 1, 2, 0, 1)};
  // Mutations of the lazy text that these inputs must expose: O not
  // rescaled when the warp moves its maxima, and P taken against the new
  // maxima while O and l keep the stale ones (so the stale path runs).
  const std::pair<std::string, std::string> mutations[] = {
      {"o[i] *= alpha", "o[i] *= 1.0f + 0.0f * alpha"},
      {"base[half] = m[half] == KT_NEG_INF ? 0.0f : m[half];",
       "base[half] = next[half] == KT_NEG_INF ? 0.0f : next[half];"}};
  std::mt19937 rng(9);
  int launched = 0;
  int tried = 0;                         // lazy instances
  int failed[std::size(mutations)] = {}; // of them, per mutation
  for (const AttentionProblem &p : problems) {
    INFO(p.key());
    const SpreadInputs in = spreadInputs(p, 3.5, rng);
    for (size_t ci = 0; ci < configs.size(); ++ci) {
      const Config &c = configs[ci];
      if (!t.validate(c, p, target).isOk()) {
        continue;
      }
      INFO(c.toString());
      auto src = t.instantiate(c, p, target);
      REQUIRE(src.isOk());
      REQUIRE(spreadMismatches(**ctx, *compiler, *src, p, in,
                               c.toString() + p.key()) == 0);
      ++launched;
      if (c.get("lazy") != 1) {
        continue;
      }
      ++tried;
      for (size_t mi = 0; mi < std::size(mutations); ++mi) {
        KernelSource bad = *src;
        bad.text = test::mutateAll(bad.text, mutations[mi].first,
                                   mutations[mi].second);
        failed[mi] += spreadMismatches(**ctx, *compiler, bad, p, in,
                                       c.toString() + p.key() + " mutation " +
                                           std::to_string(mi)) > 0;
      }
    }
  }
  REQUIRE(launched > 0);
  // Each mutation fails on most lazy instances (some decode splits may see
  // no crossing or no small step); it must fail somewhere.
  for (size_t mi = 0; mi < std::size(mutations); ++mi) {
    INFO("mutation " << mi << " failed on " << failed[mi] << " of " << tried
                     << " lazy instances");
    REQUIRE(failed[mi] > 0);
  }
}

TEST_CASE("sm100 attention kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_100a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  auto cfg = [](int64_t kv, int64_t stages, int64_t split, int64_t pack,
                int64_t lazy = 1) {
    return Config{{"kv", kv},
                  {"stages", stages},
                  {"split", split},
                  {"pack", pack},
                  {"lazy", lazy}};
  };
  const std::vector<Config> configs = {cfg(128, 3, 1, 0, 0), cfg(64, 2, 1, 0),
                                       cfg(128, 2, 4, 1), cfg(64, 3, 8, 1),
                                       cfg(64, 2, 2, 0)};
  test::runAttentionOnGpu(CudaAttentionSm100(), *compiler, *gpu, configs);
}
