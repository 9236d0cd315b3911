// Sampled cuda.attention.sm90 configurations compile for sm_90a through
// NVRTC without a GPU, issue both wgmma forms (scores from shared memory,
// P V with P in registers and V transposed), load K and V through TMA, and
// stay within the chip's limits per ptxas: no spills, no serialised wgmma,
// registers within the launch bound. The overlapped block loops keep the
// softmax between a commit and its wait (wgmma in flight), the lazy softmax
// branches around the output's rescale on a warp vote, and the register
// estimate admits no configuration that spills.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "support/AttentionReference.h"
#include "support/CudaGemmCompile.h"
#include "support/Sm90AttentionConfig.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

using namespace kt;

namespace {

/// The most `mul.f32` instructions that a conditional branch on the result
/// of a warp vote (`vote.sync.any.pred`, or its negation) jumps over, in
/// program order up to the branch's label: the rescale of the output that
/// the lazy softmax skips while no row of the warp grows.
int mulsSkippedOnVote(const std::string &ptx) {
  std::istringstream in(ptx);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  // The first operand of an instruction line (the destination), without
  // the separator.
  auto operand = [](const std::string &line, size_t from) {
    const size_t at = line.find('%', from);
    if (at == std::string::npos) {
      return std::string();
    }
    const size_t end = line.find_first_of(",; \t", at);
    return line.substr(at, end - at);
  };
  std::vector<std::string> voted; // vote results and their negations
  int most = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string &line = lines[i];
    if (line.find("vote.sync.any.pred") != std::string::npos) {
      voted.push_back(operand(line, 0));
    } else if (line.find("not.pred") != std::string::npos) {
      const std::string dst = operand(line, 0);
      const std::string src = operand(line, line.find(dst) + dst.size());
      if (std::find(voted.begin(), voted.end(), src) != voted.end()) {
        voted.push_back(dst);
      }
    } else if (const size_t bra = line.find(" bra");
               bra != std::string::npos &&
               line.find('@') != std::string::npos) {
      const size_t at = line.find('@');
      std::string pred = operand(line, at);
      if (std::find(voted.begin(), voted.end(), pred) == voted.end()) {
        continue;
      }
      const size_t l = line.find('$', bra);
      const std::string label = line.substr(l, line.find(';', l) - l) + ":";
      int muls = 0;
      for (size_t j = i + 1; j < lines.size() && lines[j].rfind(label, 0) != 0;
           ++j) {
        muls += lines[j].find("mul.f32") != std::string::npos;
      }
      most = std::max(most, muls);
    }
  }
  return most;
}

/// Whether exp2 runs while wgmma groups are pending somewhere in `ptx`
/// (the softmax beside products in flight), counting in program order:
/// each commit_group adds a group, wait_group N leaves at most N.
bool softmaxBesideWgmma(const std::string &ptx) {
  std::istringstream in(ptx);
  std::string line;
  int pending = 0;
  const std::string wait = "wgmma.wait_group.sync.aligned ";
  while (std::getline(in, line)) {
    if (line.find("wgmma.commit_group") != std::string::npos) {
      ++pending;
    } else if (const size_t at = line.find(wait); at != std::string::npos) {
      pending = std::min(pending, std::stoi(line.substr(at + wait.size())));
    } else if (pending > 0 && line.find("ex2.approx") != std::string::npos) {
      return true;
    }
  }
  return false;
}

AttentionProblem problem(DType dt, AttentionProblem::Layout layout, int64_t d,
                         int64_t hq, int64_t hkv, int64_t sq, int64_t skv,
                         bool causal) {
  return test::attentionProblem(dt, layout, 2, hq, hkv, sq, skv, d, causal);
}

} // namespace

TEST_CASE("sampled sm90 attention configurations compile within sm_90a's "
          "limits") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaAttentionSm90 t;
  const TargetDesc target = compiler->target();
  using L = AttentionProblem::Layout;
  struct Case {
    AttentionProblem p;
    Config c;
  };
  const Case cases[] = {
      // Prefill, the defaults and the extremes of the space per head dim.
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0)},
      {problem(DType::F16, L::BHSD, 128, 16, 4, 1000, 1000, false),
       test::sm90AttentionConfig(64, 3, 2, 1, 0)},
      {problem(DType::BF16, L::BHSD, 64, 16, 16, 2048, 2048, false),
       test::sm90AttentionConfig(192, 2, 3, 1, 0)},
      {problem(DType::F16, L::BSHD, 64, 16, 16, 2048, 2048, true),
       test::sm90AttentionConfig(64, 3, 4, 1, 0)},
      // Decode: GQA packed, KV split.
      {problem(DType::BF16, L::BSHD, 128, 32, 8, 1, 8192, false),
       test::sm90AttentionConfig(128, 1, 3, 8, 1)},
      {problem(DType::F16, L::BHSD, 64, 32, 8, 3, 8192, true),
       test::sm90AttentionConfig(192, 1, 3, 16, 1)},
      // overlap=1 (two score accumulators: kv 64), prefill and split
      // decode, both layouts and types.
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(64, 2, 2, 1, 0, 1)},
      {problem(DType::F16, L::BHSD, 64, 16, 4, 2048, 2048, false),
       test::sm90AttentionConfig(64, 2, 3, 1, 0, 1)},
      {problem(DType::BF16, L::BHSD, 128, 32, 8, 1, 8192, false),
       test::sm90AttentionConfig(64, 1, 4, 8, 1, 1)},
      {problem(DType::F16, L::BSHD, 64, 32, 8, 3, 8192, true),
       test::sm90AttentionConfig(64, 1, 2, 16, 1, 1)},
      // overlap=2, with and without pingpong (two and three consumers),
      // prefill and split decode.
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0, 2)},
      {problem(DType::F16, L::BHSD, 64, 16, 16, 2048, 2048, false),
       test::sm90AttentionConfig(192, 2, 2, 1, 0, 2)},
      {problem(DType::F16, L::BSHD, 128, 32, 8, 1, 8192, false),
       test::sm90AttentionConfig(128, 1, 3, 8, 1, 2)},
      {problem(DType::BF16, L::BHSD, 128, 16, 4, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1)},
      {problem(DType::F16, L::BSHD, 64, 16, 16, 2048, 2048, false),
       test::sm90AttentionConfig(64, 3, 4, 1, 0, 2, 1)},
      {problem(DType::BF16, L::BHSD, 64, 32, 8, 32, 8192, true),
       test::sm90AttentionConfig(128, 2, 2, 4, 1, 2, 1)},
      // lazy=1 (the stale maxima, O rescaled on a warp vote) in each block
      // loop: serial, overlap=1, overlap=2 with pingpong, split decode.
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 1)},
      {problem(DType::F16, L::BHSD, 64, 16, 4, 2048, 2048, false),
       test::sm90AttentionConfig(192, 1, 2, 1, 0, 0, 0, 1)},
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(64, 2, 2, 1, 0, 1, 0, 1)},
      {problem(DType::F16, L::BHSD, 128, 16, 4, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1, 1)},
      {problem(DType::BF16, L::BSHD, 64, 16, 16, 2048, 2048, false),
       test::sm90AttentionConfig(64, 3, 4, 1, 0, 2, 1, 1)},
      {problem(DType::BF16, L::BSHD, 128, 32, 8, 1, 8192, false),
       test::sm90AttentionConfig(128, 1, 3, 8, 1, 0, 0, 1)},
      {problem(DType::F16, L::BSHD, 64, 32, 8, 3, 8192, true),
       test::sm90AttentionConfig(64, 1, 2, 16, 1, 1, 0, 1)},
      {problem(DType::BF16, L::BHSD, 128, 32, 8, 1, 8192, false),
       test::sm90AttentionConfig(128, 1, 3, 8, 1, 2, 0, 1)},
      // persist=1 (CTAs walking tiles) in each block loop, with pingpong,
      // lazy and packed heads.
      {problem(DType::BF16, L::BSHD, 128, 16, 16, 1000, 1000, true),
       test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 0, 1)},
      {problem(DType::BF16, L::BHSD, 128, 16, 4, 2048, 2048, false),
       test::sm90AttentionConfig(64, 2, 2, 1, 0, 1, 0, 0, 1)},
      {problem(DType::F16, L::BSHD, 64, 16, 16, 2048, 2048, false),
       test::sm90AttentionConfig(64, 3, 4, 1, 0, 2, 1, 1, 1)},
      {problem(DType::BF16, L::BSHD, 128, 32, 8, 32, 8192, true),
       test::sm90AttentionConfig(64, 1, 3, 1, 1, 2, 0, 1, 1)},
  };
  for (const Case &k : cases) {
    INFO(k.p.key() << " " << k.c.toString());
    auto v = t.validate(k.c, k.p, target);
    INFO(v.toString());
    REQUIRE(v.isOk());
    auto src = t.instantiate(k.c, k.p, target);
    REQUIRE(src.isOk());
    auto launch = cuda::parseAttentionLaunchSpec(src->launch);
    REQUIRE(launch.isOk());
    REQUIRE(launch->threads == 128 * (k.c.get("cons") + 1));
    REQUIRE(launch->sharedBytes == CudaAttentionSm90::sharedBytes(k.c, k.p.d));
    REQUIRE(launch->sharedBytes <= 232448);
    CudaKernelBinary bin = test::compileSourceWithinLimits(
        *compiler, *src, k.c.toString() + k.p.key(), launch->threads);
    const char *ty = k.p.dtype == DType::BF16 ? "bf16" : "f16";
    const std::string scores = "wgmma.mma_async.sync.aligned.m64n" +
                               std::to_string(k.c.get("kv")) + "k16.f32." + ty +
                               "." + ty;
    const std::string output = "wgmma.mma_async.sync.aligned.m64n" +
                               std::to_string(k.p.d) + "k16.f32." + ty + "." +
                               ty;
    REQUIRE_THAT(bin.ptx, Catch::Contains(scores));
    REQUIRE_THAT(bin.ptx, Catch::Contains(output));
    // Scores: both operands K-major descriptors; output: P from four
    // registers, V N-major (transpose bit 1).
    REQUIRE_THAT(bin.ptx, Catch::Contains(", p, 1, 1, 0, 0;"));
    REQUIRE_THAT(bin.ptx, Catch::Contains(", p, 1, 1, 1;"));
    REQUIRE_THAT(bin.ptx, Catch::Contains("cp.async.bulk.tensor.2d"));
    REQUIRE_THAT(bin.ptx, Catch::Contains("ex2.approx"));
    if (k.c.get("cons") > 1) {
      REQUIRE_THAT(bin.ptx, Catch::Contains("setmaxnreg.inc"));
    }
    if (k.c.get("split") > 1) {
      REQUIRE_THAT(bin.ptx, Catch::Contains("atom.global.add.u32"));
    }
    // Persistent: the launch says so, and the tile loop strides by the
    // grid size.
    const bool persist = k.c.get("persist") == 1;
    REQUIRE(launch->persistent == persist);
    REQUIRE((bin.ptx.find("%nctaid.x") != std::string::npos) == persist);
    // Overlap: products left in flight (a wait that leaves one group
    // pending) with the softmax between commit and wait; serial: every
    // commit waited for at once.
    const bool overlap = k.c.get("overlap") != 0;
    CHECK(softmaxBesideWgmma(bin.ptx) == overlap);
    if (overlap) {
      REQUIRE_THAT(bin.ptx,
                   Catch::Contains("wgmma.wait_group.sync.aligned 1;"));
    } else {
      REQUIRE_THAT(bin.ptx,
                   !Catch::Contains("wgmma.wait_group.sync.aligned 1;"));
    }
    // Pingpong: turns handed on with bar.arrive.
    REQUIRE((bin.ptx.find("bar.arrive") != std::string::npos) ==
            (k.c.get("pingpong") == 1));
    // Lazy: a warp vote, and a branch on it around the output's rescale
    // (d / 2 multiplies); the eager text has no vote and no KT_LAZY.
    const bool lazy = k.c.get("lazy") == 1;
    const bool vote = bin.ptx.find("vote.sync.any") != std::string::npos ||
                      bin.ptx.find("vote.any") != std::string::npos;
    REQUIRE(vote == lazy);
    REQUIRE((src->text.find("KT_LAZY") != std::string::npos) == lazy);
    if (lazy) {
      REQUIRE_THAT(src->text, Catch::Contains("#define KT_LAZY 1\n"));
      REQUIRE(mulsSkippedOnVote(bin.ptx) >= k.p.d / 2);
    }
    test::sassContains(bin, "HGMMA\\.64x" + std::to_string(k.c.get("kv")) +
                                "x16\\.F32");
  }
}

TEST_CASE("sm90 attention space and defaults are legal; bad input is named") {
  CudaAttentionSm90 t;
  const TargetDesc target = *parseTarget("cuda:sm_90a");
  using L = AttentionProblem::Layout;
  for (const AttentionProblem &p :
       {problem(DType::BF16, L::BSHD, 128, 32, 8, 4096, 4096, true),
        problem(DType::F16, L::BHSD, 64, 16, 16, 1024, 1024, false),
        problem(DType::BF16, L::BSHD, 128, 32, 8, 1, 65536, false),
        problem(DType::BF16, L::BSHD, 64, 8, 1, 1, 1000, false)}) {
    INFO(p.key());
    REQUIRE(t.supports(p, target));
    auto space = t.space(p, target);
    REQUIRE(space.size() > 4);
    REQUIRE(space.front() == t.defaultConfig(p, target));
    for (const Config &c : space) {
      INFO(c.toString());
      REQUIRE(t.validate(c, p, target).isOk());
    }
  }
  // Decode packs the group and splits the KV length across the SMs.
  const AttentionProblem decode =
      problem(DType::BF16, L::BSHD, 128, 32, 8, 1, 65536, false);
  const Config d = t.defaultConfig(decode, target);
  REQUIRE(d.get("pack") == 1);
  REQUIRE(d.get("split") >= 4);

  AttentionProblem f32 = decode;
  f32.dtype = DType::F32;
  REQUIRE_FALSE(t.supports(f32, target));
  AttentionProblem d256 = decode;
  d256.d = 256;
  auto bad = t.validate(d, d256, target);
  REQUIRE_THAT(bad.message(), Catch::Contains("head dim 64 or 128"));
  REQUIRE_FALSE(t.supports(decode, *parseTarget("cuda:sm_100a")));
  auto regs = t.validate(
      test::sm90AttentionConfig(192, 3, 2, 1, 0),
      problem(DType::BF16, L::BSHD, 128, 8, 8, 512, 512, false), target);
  REQUIRE_THAT(regs.message(), Catch::Contains("registers"));
  auto smem = t.validate(
      test::sm90AttentionConfig(192, 2, 4, 1, 0),
      problem(DType::BF16, L::BSHD, 128, 8, 8, 512, 512, false), target);
  REQUIRE_FALSE(smem.isOk());
  auto pack = t.validate(
      test::sm90AttentionConfig(128, 1, 2, 1, 1),
      problem(DType::BF16, L::BSHD, 128, 8, 8, 1, 512, false), target);
  REQUIRE_THAT(pack.message(), Catch::Contains("pack=1"));

  // The overlapped loops: in the prefill space, with pingpong only where
  // consumers take turns; two score accumulators do not fit beside a d 128
  // output with 128-key blocks.
  const AttentionProblem prefill =
      problem(DType::BF16, L::BSHD, 128, 32, 8, 4096, 4096, true);
  REQUIRE(t.defaultConfig(prefill, target).get("overlap") == 0);
  REQUIRE(t.defaultConfig(prefill, target).get("lazy") == 0);
  REQUIRE(t.defaultConfig(decode, target).get("lazy") == 0);
  bool sawOverlap1 = false, sawOverlap2 = false, sawPingpong = false;
  bool sawLazyOverlap[3] = {false, false, false};
  for (const Config &c : t.space(prefill, target)) {
    sawOverlap1 |= c.get("overlap") == 1;
    sawOverlap2 |= c.get("overlap") == 2;
    sawPingpong |= c.get("pingpong") == 1;
    if (c.get("lazy") == 1) {
      sawLazyOverlap[c.get("overlap")] = true;
    }
  }
  REQUIRE((sawOverlap1 && sawOverlap2 && sawPingpong));
  REQUIRE((sawLazyOverlap[0] && sawLazyOverlap[1] && sawLazyOverlap[2]));
  const AttentionProblem mha =
      problem(DType::BF16, L::BSHD, 128, 8, 8, 512, 512, false);
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 1), mha, target)
          .message(),
      Catch::Contains("registers"));
  REQUIRE(t.validate(test::sm90AttentionConfig(64, 2, 2, 1, 0, 1), mha, target)
              .isOk());
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 1, 2, 1, 0, 2, 1), mha, target)
          .message(),
      Catch::Contains("pingpong=1"));
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 1, 1), mha, target)
          .message(),
      Catch::Contains("pingpong=1"));
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 3), mha, target)
          .message(),
      Catch::Contains("overlap=3"));
  REQUIRE_THAT(t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 2),
                          mha, target)
                   .message(),
               Catch::Contains("lazy=2 must be 0 or 1"));
  REQUIRE_FALSE(t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, -1),
                           mha, target)
                    .isOk());
  // Overlap adds the V ring's empty barriers.
  REQUIRE(CudaAttentionSm90::sharedBytes(
              test::sm90AttentionConfig(128, 2, 3, 1, 0, 2), 128) ==
          CudaAttentionSm90::sharedBytes(
              test::sm90AttentionConfig(128, 2, 3, 1, 0, 0), 128) +
              3 * 8);
  // A configuration stored before overlap, pingpong and lazy existed is
  // the serial loop with the eager softmax; lazy=1 names itself in the
  // header line and defines KT_LAZY, which lazy=0 text never mentions.
  const Config old = {
      {"kv", 128}, {"cons", 2}, {"stages", 2}, {"split", 1}, {"pack", 0}};
  REQUIRE(t.validate(old, mha, target).isOk());
  REQUIRE(t.instantiate(old, mha, target)->text ==
          t.instantiate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0), mha,
                        target)
              ->text);
  for (int64_t overlap : {0, 1, 2}) {
    const int64_t kv = overlap == 1 ? 64 : 128;
    const int64_t pingpong = overlap == 2 ? 1 : 0;
    auto eager = t.instantiate(
        test::sm90AttentionConfig(kv, 2, 2, 1, 0, overlap, pingpong), mha,
        target);
    auto lazy = t.instantiate(
        test::sm90AttentionConfig(kv, 2, 2, 1, 0, overlap, pingpong, 1), mha,
        target);
    REQUIRE((eager.isOk() && lazy.isOk()));
    REQUIRE_THAT(eager->text, !Catch::Contains("KT_LAZY"));
    REQUIRE_THAT(eager->text, !Catch::Contains("lazy"));
    REQUIRE_THAT(eager->text, !Catch::Contains("__any_sync"));
    REQUIRE_THAT(lazy->text,
                 Catch::Contains(" pingpong=" + std::to_string(pingpong) +
                                 " lazy=1\n#define"));
    REQUIRE_THAT(lazy->text, Catch::Contains("#define KT_LAZY 1\n"));
    REQUIRE_THAT(lazy->text, Catch::Contains("__any_sync(0xffffffffu, grow)"));
  }
  // Persistent CTAs: offered where the tiles take more than one wave of
  // CTAs (not for decode, nor for a prefill of few tiles), never with a
  // split; the default is not persistent.
  const AttentionProblem small =
      problem(DType::BF16, L::BSHD, 128, 8, 8, 512, 512, false);
  REQUIRE(t.defaultConfig(prefill, target).get("persist") == 0);
  auto persists = [&](const AttentionProblem &p) {
    const auto space = t.space(p, target);
    return std::count_if(space.begin(), space.end(),
                         [](const Config &c) { return c.get("persist") == 1; });
  };
  REQUIRE(persists(prefill) > 0);
  REQUIRE(persists(small) == 0);
  REQUIRE(persists(decode) == 0);
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 2, 2, 1, 0, 0, 0, 0, 2), mha,
                 target)
          .message(),
      Catch::Contains("persist=2 must be 0 or 1"));
  REQUIRE_THAT(
      t.validate(test::sm90AttentionConfig(128, 1, 3, 8, 1, 0, 0, 0, 1), decode,
                 target)
          .message(),
      Catch::Contains("takes no KV split"));
  auto persistent = t.instantiate(
      test::sm90AttentionConfig(128, 2, 2, 1, 0, 2, 1, 0, 1), prefill, target);
  REQUIRE(persistent.isOk());
  REQUIRE_THAT(persistent->text, Catch::Contains("#define KT_PERSIST 1\n"));
  REQUIRE_THAT(persistent->launch, Catch::EndsWith(";grid=persistent"));
  auto persistentSpec = cuda::parseAttentionLaunchSpec(persistent->launch);
  REQUIRE(persistentSpec.isOk());
  REQUIRE(persistentSpec->persistent);
  REQUIRE(persistentSpec->toString() == persistent->launch);

  auto launch = cuda::parseAttentionLaunchSpec("threads=256;smem=1;rows=64");
  REQUIRE_THAT(launch.status().message(), Catch::Contains("lacks"));
  auto field = cuda::parseAttentionLaunchSpec(
      "threads=256;smem=1;rows=64;kv=x;split=1;pack=1;sems=1");
  REQUIRE_THAT(field.status().message(), Catch::Contains("kv=x"));
}

TEST_CASE("the largest sm90 attention blocks the register estimate admits "
          "compile without spills") {
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  if (!compiler) {
    std::printf("[SKIP] %s\n", compiler.status().message().c_str());
    return;
  }
  CudaAttentionSm90 t;
  const TargetDesc target = compiler->target();
  // Per head dim, consumer count, block loop and softmax, the largest kv
  // that validate() accepts: the estimate must not admit one that spills or
  // makes ptxas serialise the wgmma pipeline.
  int compiled = 0;
  for (int64_t d : {64, 128}) {
    const AttentionProblem p = problem(
        DType::BF16, AttentionProblem::Layout::BSHD, d, 8, 8, 2048, 2048, true);
    for (int64_t cons : {1, 2, 3}) {
      for (int64_t overlap : {0, 1, 2}) {
        for (int64_t lazy : {0, 1}) {
          for (int64_t kv : {192, 128, 64}) {
            const Config c =
                test::sm90AttentionConfig(kv, cons, 2, 1, 0, overlap, 0, lazy);
            if (!t.validate(c, p, target).isOk()) {
              continue;
            }
            INFO(p.key() << " " << c.toString());
            auto src = t.instantiate(c, p, target);
            REQUIRE(src.isOk());
            test::compileSourceWithinLimits(
                *compiler, *src, c.toString() + p.key(), int(128 * (cons + 1)));
            ++compiled;
            break;
          }
        }
      }
    }
  }
  // All but overlap=1 with three consumers, each softmax.
  REQUIRE(compiled == 32);
}
