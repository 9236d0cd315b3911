// bench_attention: tuned ktune CPU attention kernels against the plain
// implementation (OpenBLAS GEMMs for Q K^T and P V around a softmax), both
// timed in the same run with the same rotating-buffer (cold-cache) method.
// FLOPs count 4 * b * hq * sq * skv * d, halved when causal.
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/GemmBench.h"
#include "ktune/tuner/Tuner.h"

#include "AttentionConfig.h"
#include "OpenBlasCore.h"
#include "ReadBound.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

// OpenBLAS extension (declared here so that no cblas.h is needed).
extern "C" void openblas_set_num_threads(int);

namespace {

using namespace kt;

struct Row {
  AttentionProblem problem;
  std::string kind; ///< "prefill" or "decode".
  double ktuneTflops = 0, refTflops = 0, ratio = 0;
  double gemmTflops = 0; ///< The same FLOPs as OpenBLAS GEMMs alone.
  /// Decode: ktune's time over a plain read of K and V (ReadBound.h);
  /// 0 for prefill, where arithmetic, not memory, is the bound.
  double overRead = 0;
  std::string winner;
};

/// The reference's rotating buffers hold floats.
const float *f32(const void *p) { return static_cast<const float *>(p); }

AttentionProblem attn(DType dtype, int64_t hq, int64_t hkv, int64_t sq,
                      int64_t skv, int64_t d, bool causal) {
  AttentionProblem p;
  p.dtype = dtype;
  p.hq = hq;
  p.hkv = hkv;
  p.sq = sq;
  p.skv = skv;
  p.d = d;
  p.causal = causal;
  return p;
}

/// Prefill (seq 1k and 4k, head dims 64 and 128, causal and not, 8 heads) and
/// decode (one query row, KV 1k-128k, GQA 8:1 with 32 query heads; MQA
/// with 8 query heads over 32k keys; MHA with 32 heads over 4k keys).
std::vector<std::pair<std::string, AttentionProblem>> shapes(bool quick,
                                                             DType dtype) {
  std::vector<std::pair<std::string, AttentionProblem>> out;
  std::vector<int64_t> prefill =
      quick ? std::vector<int64_t>{256} : std::vector<int64_t>{1024, 4096};
  std::vector<int64_t> decode = quick
                                    ? std::vector<int64_t>{1024}
                                    : std::vector<int64_t>{1024, 16384, 131072};
  for (int64_t s : prefill) {
    for (int64_t d : {64, 128}) {
      for (bool causal : {false, true}) {
        out.push_back({"prefill", attn(dtype, 8, 8, s, s, d, causal)});
      }
    }
  }
  for (int64_t s : decode) {
    out.push_back({"decode", attn(dtype, 32, 4, 1, s, 128, false)});
  }
  // MQA decode: one (batch, KV head) block, parallel only through split-KV.
  out.push_back(
      {"decode", attn(dtype, 8, 1, 1, quick ? 4096 : 32768, 128, false)});
  if (!quick) {
    // MHA decode: one query row per key/value head, 32 of them.
    out.push_back({"decode", attn(dtype, 32, 32, 1, 4096, 128, false)});
  }
  return out;
}

/// The measured configuration of `p`: `config` set over cpu.attention.mlir's
/// default, compiled, checked against the reference, timed on `args`.
Result<TuningRecord> measureConfig(CpuDevice &device,
                                   const CpuCompiler &compiler,
                                   const AttentionProblem &p,
                                   const std::string &config,
                                   RotatingAttentionArgs &args, float scale) {
  KT_ASSIGN_OR_RETURN(bench::CheckedAttention c,
                      bench::checkedConfig(device, compiler, p, config));
  Timing timing = timeRotating(
      [&](int i) { c.run(args.q(i), args.k(i), args.v(i), args.o(i), scale); },
      args.sets(), TimingOptions());
  TuningRecord r;
  r.params = c.params;
  r.timeMs = timing.medianMs;
  return r;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"ktune's tuned CPU attention against OpenBLAS-based attention"};
  bool quick = false;
  int maxCandidates = 8, threads = 0;
  std::string json;
  app.add_flag("--quick", quick, "One small shape of each kind (smoke test)");
  app.add_option("--max-candidates", maxCandidates,
                 "Candidates tuned per shape")
      ->capture_default_str();
  app.add_option("--threads", threads, "Threads (default: one per core)");
  app.add_option("--json", json, "Also write the rows as a JSON array");
  std::string only;
  app.add_option("--only", only,
                 "Only the shapes of this kind (prefill, decode) or whose "
                 "problem key contains this text "
                 "(e.g. sq4096_skv4096_d128_causal)");
  std::string dtypeArg = "f32";
  app.add_option("--dtype", dtypeArg,
                 "Tensor element type of ktune's kernels: f32 or bf16 (the "
                 "reference runs in f32 on the same shapes: OpenBLAS has no "
                 "bf16 GEMM here)")
      ->capture_default_str();
  std::string config;
  app.add_option("--config", config,
                 "Measure this configuration of cpu.attention.mlir (set over "
                 "each shape's default, e.g. 'ku=8;pr=2') instead of tuning");
  CLI11_PARSE(app, argc, argv);
  const Result<DType> dtype = parseDType(dtypeArg);
  if (!dtype.isOk() || (*dtype != DType::F32 && *dtype != DType::BF16)) {
    fmt::print(stderr,
               "bench_attention: --dtype '{}': the CPU attention family takes "
               "f32 or bf16\n",
               dtypeArg);
    return 2;
  }
  // A shape is run if its kind ("prefill", "decode") is `only` or its key
  // contains it; a filter that matches nothing is a usage error.
  auto wanted = [&](const std::string &kind, const AttentionProblem &p) {
    return only.empty() || kind == only ||
           p.key().find(only) != std::string::npos;
  };
  {
    std::string keys;
    bool any = false;
    for (const auto &[kind, p] : shapes(quick, *dtype)) {
      any = any || wanted(kind, p);
      keys += fmt::format("\n  {} {}", kind, p.key());
    }
    if (!any) {
      fmt::print(stderr,
                 "bench_attention: --only '{}' matches no shape; give a kind "
                 "(prefill, decode) or part of one of these keys:{}\n",
                 only, keys);
      return 2;
    }
  }
  bench::warnIfWeakOpenBlasCore();

  CpuDevice device(threads);
  openblas_set_num_threads(device.threads());
  CpuCompiler compiler(device.target(), CpuCompiler::defaultCacheDir());
  const std::string dir = (std::filesystem::temp_directory_path() /
                           fmt::format("ktune-bench-attention-{}", ::getpid()))
                              .string();
  std::filesystem::create_directories(dir);
  auto store = openSqliteStore(dir + "/results.db");
  if (!store.isOk()) {
    fmt::print(stderr, "bench_attention: {}\n", store.status().message());
    return 1;
  }
  TuneOptions opt;
  opt.maxCandidates = maxCandidates;
  opt.progress = false;
  Tuner tuner(device, compiler, **store, opt);
  const int64_t rotate =
      std::min<int64_t>(2 * device.info().lastLevelCacheBytes, 1 << 30);

  const std::string searched =
      config.empty()
          ? fmt::format("{} candidates per shape", maxCandidates)
          : fmt::format("configuration '{}' over the default", config);
  fmt::print("bench_attention: cpu ({}, {} threads), {}, {}; TFLOP/s = "
             "4*b*hq*sq*skv*d (/2 causal) / time; ratio = "
             "ktune / reference (OpenBLAS GEMMs + softmax); gemms = the "
             "reference's two OpenBLAS GEMMs alone (all scores, causal or "
             "not), vs gemm = ktune / gemms; over read (decode) = ktune's "
             "time / a plain read of K and V's; OpenBLAS core {}\n",
             device.info().name, device.threads(), dtypeArg, searched,
             bench::openBlasCoreLine());
  fmt::print("{:<8} {:<50} {:>9} {:>9} {:>7} {:>9} {:>8} {:>9}  {}\n", "kind",
             "problem", "ktune", "ref", "ratio", "gemms", "vs gemm",
             "over read", "winner");
  std::vector<Row> rows;
  for (const auto &[kind, p] : shapes(quick, *dtype)) {
    if (!wanted(kind, p)) {
      continue;
    }
    // The benchmark's own rotating sets are made after tuning, which
    // allocates (and frees) its own: both at once would double the memory.
    std::optional<RotatingAttentionArgs> argsOwn;
    const float scale = 1.0f / std::sqrt(float(p.d));
    TuningRecord w;
    if (!config.empty()) {
      argsOwn.emplace(p, rotate, 42);
      auto m = measureConfig(device, compiler, p, config, *argsOwn, scale);
      if (!m.isOk()) {
        fmt::print("{:<8} {:<50} failed: {}\n", kind, p.key(),
                   m.status().message());
        continue;
      }
      w = *m;
    } else {
      auto o = tuner.tuneAttention(p);
      if (!o.isOk() || !o->winner) {
        fmt::print("{:<8} {:<50} tuning failed: {}\n", kind, p.key(),
                   o.isOk() ? "no correct candidate" : o.status().message());
        continue;
      }
      w = *o->winner;
      argsOwn.emplace(p, rotate, 42);
    }
    RotatingAttentionArgs &args = *argsOwn;
    // The reference's f32 inputs of the same shape (the same buffers for
    // f32 problems).
    AttentionProblem p32 = p;
    p32.dtype = DType::F32;
    std::optional<RotatingAttentionArgs> args32;
    if (p.dtype != DType::F32) {
      args32.emplace(p32, rotate, 42);
    }
    RotatingAttentionArgs &refArgs = args32 ? *args32 : args;
    TimingOptions t;
    Timing ref = timeRotating(
        [&](int i) {
          referenceAttention(p32, f32(refArgs.q(i)), f32(refArgs.k(i)),
                             f32(refArgs.v(i)),
                             static_cast<float *>(refArgs.o(i)), scale);
        },
        refArgs.sets(), t);
    Timing gemms = timeRotating(
        [&](int i) {
          referenceAttention(p32, f32(refArgs.q(i)), f32(refArgs.k(i)),
                             f32(refArgs.v(i)),
                             static_cast<float *>(refArgs.o(i)), scale,
                             /*gemmsOnly=*/true);
        },
        refArgs.sets(), t);
    Row r;
    r.problem = p;
    r.gemmTflops = p.flops() / (gemms.medianMs * 1e9) *
                   (p.causal ? 2.0 : 1.0); // The GEMMs compute every score.
    r.kind = kind;
    r.ktuneTflops = p.flops() / (w.timeMs * 1e9);
    r.refTflops = p.flops() / (ref.medianMs * 1e9);
    r.ratio = r.ktuneTflops / r.refTflops;
    r.winner = w.params;
    if (kind == "decode") {
      r.overRead =
          w.timeMs / bench::timeReadKV(device.pool(), p, args, t).medianMs;
    }
    fmt::print("{:<8} {:<50} {:>9.4f} {:>9.4f} {:>6.2f}x {:>9.4f} {:>7.2f}x "
               "{:>9}  {}\n",
               kind, p.key(), r.ktuneTflops, r.refTflops, r.ratio, r.gemmTflops,
               r.ktuneTflops / r.gemmTflops,
               r.overRead > 0 ? fmt::format("{:.2f}x", r.overRead) : "-",
               w.params);
    std::fflush(stdout);
    rows.push_back(r);
  }
  std::filesystem::remove_all(dir);
  if (!json.empty()) {
    std::string out = "[\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      const AttentionProblem &p = r.problem;
      out += fmt::format(
          "  {{\"target\": \"cpu\", \"kind\": \"{}\", \"dtype\": \"{}\", "
          "\"b\": {}, \"hq\": {}, "
          "\"hkv\": {}, \"sq\": {}, \"skv\": {}, \"d\": {}, \"causal\": {}, "
          "\"ktune_tflops\": {:.6f}, \"ref_tflops\": {:.6f}, \"ratio\": "
          "{:.4f}, \"gemm_tflops\": {:.6f}, \"over_read\": {}}}{}\n",
          r.kind, dtypeName(p.dtype), p.batch, p.hq, p.hkv, p.sq, p.skv, p.d,
          p.causal ? "true" : "false", r.ktuneTflops, r.refTflops, r.ratio,
          r.gemmTflops,
          r.overRead > 0 ? fmt::format("{:.4f}", r.overRead) : "null",
          i + 1 < rows.size() ? "," : "");
    }
    out += "]\n";
    std::ofstream(json) << out;
    fmt::print("wrote {} rows to '{}'\n", rows.size(), json);
  }
  return rows.empty() ? 1 : 0;
}
