// bench_attention_ab: configurations of cpu.attention.mlir on one problem,
// timed alternately in one process (round after round, each configuration
// once per round), so that a noisy machine's drift falls on all of them
// alike. Prints each one's best median over the rounds, its TFLOP/s and K/V
// read rate, and its ratio to the problem's default configuration; beside
// them, timed in the same rounds, a plain read of the same K and V bytes on
// the same threads (ReadBound.h): the floor a decode kernel can approach.
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/GemmBench.h"

#include "AttentionConfig.h"
#include "ReadBound.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  using namespace kt;
  CLI::App app{"Configurations of ktune's CPU attention on one problem, "
               "timed alternately against its default"};
  std::string problemArg;
  std::vector<std::string> configs;
  int rounds = 5, threads = 0;
  bool hot = false;
  app.add_option("--problem", problemArg,
                 "Attention problem key, e.g. "
                 "attn_bf16_BSHD_b1_hq32_hkv4_sq1_skv16384_d128")
      ->required();
  app.add_option("--config", configs,
                 "A configuration to compare, set over the problem's default "
                 "(e.g. 'pf=0;bd=1'); repeat for several. The default itself "
                 "is always the first row")
      ->required();
  app.add_option("--rounds", rounds, "Rounds (each times every configuration)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "Threads (default: one per core)");
  app.add_flag("--hot", hot,
               "One set of inputs, reused (cache-warm as far as it fits); by "
               "default sets rotate over twice the last-level cache");
  CLI11_PARSE(app, argc, argv);
  const Result<AttentionProblem> parsed = parseAttentionProblem(problemArg);
  if (!parsed.isOk()) {
    fmt::print(stderr, "bench_attention_ab: --problem '{}': {}\n", problemArg,
               parsed.status().message());
    return 2;
  }
  const AttentionProblem p = *parsed;

  CpuDevice device(threads);
  CpuCompiler compiler(device.target(), CpuCompiler::defaultCacheDir());
  configs.insert(configs.begin(), std::string());
  std::vector<bench::CheckedAttention> runs;
  for (const std::string &overrides : configs) {
    auto c = bench::checkedConfig(device, compiler, p, overrides);
    if (!c.isOk()) {
      fmt::print(stderr, "bench_attention_ab: --config '{}': {}\n", overrides,
                 c.status().message());
      return 1;
    }
    runs.push_back(std::move(*c));
  }
  const int64_t rotate =
      hot ? 1
          : std::min<int64_t>(2 * device.info().lastLevelCacheBytes, 1 << 30);
  RotatingAttentionArgs args(p, rotate, 42);
  const float scale = 1.0f / std::sqrt(float(p.d));
  std::vector<double> best(runs.size(), std::numeric_limits<double>::max());
  double readBest = std::numeric_limits<double>::max();
  for (int r = 0; r < rounds; ++r) {
    readBest =
        std::min(readBest, bench::timeReadKV(device.pool(), p, args).medianMs);
    for (size_t i = 0; i < runs.size(); ++i) {
      const Timing t = timeRotating(
          [&](int s) {
            runs[i].run(args.q(s), args.k(s), args.v(s), args.o(s), scale);
          },
          args.sets(), TimingOptions());
      best[i] = std::min(best[i], t.medianMs);
    }
  }
  const double readBytes = 2.0 * double(bench::kvBytes(p));
  fmt::print("bench_attention_ab: {} on cpu ({}, {} threads), {} rounds, {} "
             "inputs; best median per configuration; GB/s = K and V bytes / "
             "time; ratio = default's time / this one's; read = this one's "
             "time / a plain read of K and V's time\n",
             p.key(), device.info().name, device.threads(), rounds,
             hot ? "one set of" : "rotating");
  fmt::print("{:>10} {:>9} {:>8} {:>7} {:>6} {:>6}  {}\n", "ms", "TFLOP/s",
             "GB/s", "ratio", "read", "error", "configuration");
  for (size_t i = 0; i < runs.size(); ++i) {
    fmt::print("{:>10.4f} {:>9.4f} {:>8.1f} {:>6.3f}x {:>5.2f}x {:>6.3f}  "
               "{}{}\n",
               best[i], p.flops() / (best[i] * 1e9),
               readBytes / (best[i] * 1e6), best[0] / best[i],
               best[i] / readBest, runs[i].error, runs[i].params,
               i == 0 ? " (default)" : "");
  }
  fmt::print("{:>10.4f} {:>9} {:>8.1f} {:>7} {:>5.2f}x {:>6}  plain read of "
             "K and V\n",
             readBest, "-", readBytes / (readBest * 1e6), "-", 1.0, "-");
  return 0;
}
