// bench_gemm_cpu: tuned ktune CPU GEMM kernels against OpenBLAS, both timed
// in the same run with the same rotating-buffer (cold-cache) method.
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"
#include "ktune/tuner/Tuner.h"

#include "OpenBlasCore.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// OpenBLAS extensions (declared here so that no cblas.h is needed).
extern "C" void openblas_set_num_threads(int);
extern "C" char *openblas_get_config(void);

namespace {

using namespace kt;

std::atomic<bool> gCancel{false};

/// The first SIGINT/SIGTERM stops after the current candidate (the
/// temporary database is removed); a second one exits at once.
void onSignal(int sig) {
  if (gCancel.exchange(true)) {
    std::_Exit(128 + sig);
  }
}

/// One benchmark row: a problem timed at one thread count.
struct Row {
  GemmProblem problem;
  int threads = 0;
  double ktuneGflops = 0;
  double refGflops = 0;
  double ratio = 0;
};

GemmProblem makeProblem(int64_t m, int64_t n, int64_t k, bool transB) {
  GemmProblem p;
  p.dtype = DType::F32;
  p.transA = false;
  p.transB = transB;
  p.m = m;
  p.n = n;
  p.k = k;
  p.setDefaultLeadingDims();
  return p;
}

void addSquare(std::vector<GemmProblem> &out) {
  for (int64_t s : {256, 512, 1024, 1536, 2048}) {
    out.push_back(makeProblem(s, s, s, /*transB=*/false));
  }
}

void addOdd(std::vector<GemmProblem> &out, bool quick) {
  out.push_back(makeProblem(1000, 1000, 1000, false));
  out.push_back(makeProblem(777, 333, 555, false));
  if (!quick) {
    out.push_back(makeProblem(4095, 4095, 4095, false));
  }
}

/// LLM linear layers: y = x @ W.T, i.e. NT in row-major, M = tokens.
void addLlm(std::vector<GemmProblem> &out, bool full) {
  // Llama-3-8B: attention (q/o), MLP up/gate, MLP down, fused qkv.
  // gpt-oss-120b: attention, fused qkv, output projection.
  std::vector<std::pair<int64_t, int64_t>> nk = {
      {4096, 4096}, {14336, 4096}, {2880, 2880}};
  if (full) {
    nk = {{4096, 4096}, {14336, 4096}, {4096, 14336}, {6144, 4096},
          {2880, 2880}, {5120, 2880},  {2880, 4096}};
  }
  for (int64_t m : {1, 8, 16, 128}) {
    for (auto [n, k] : nk) {
      out.push_back(makeProblem(m, n, k, /*transB=*/true));
    }
  }
}

std::vector<GemmProblem> shapeSet(const std::string &set, bool quick) {
  std::vector<GemmProblem> out;
  if (quick) {
    out.push_back(makeProblem(256, 256, 256, false));
    addOdd(out, /*quick=*/true);
    out.push_back(makeProblem(1, 4096, 4096, true));
    out.push_back(makeProblem(16, 4096, 4096, true));
    return out;
  }
  if (set == "all" || set == "square") {
    addSquare(out);
  }
  if (set == "all" || set == "odd") {
    addOdd(out, /*quick=*/false);
  }
  if (set == "all" || set == "llm" || set == "llm-full") {
    addLlm(out, set == "llm-full");
  }
  return out;
}

/// Deletes a temporary folder when it goes out of scope.
class TempDir {
public:
  TempDir() = default;
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  /// Creates a fresh, private folder under the system temporary folder.
  Status create() {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) {
      base = "/tmp";
    }
    std::string tmpl = (base / "ktune-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      return unavailable(fmt::format(
          "cannot create a temporary folder from '{}'; set TMPDIR to a "
          "writable folder or pass --db FILE",
          tmpl));
    }
    path_ = tmpl;
    return Status::ok();
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// The fastest "ok" record for `p` that fits this machine and compiler and
/// whose code object is stored, or nullopt if there is none.
Result<std::optional<TuningRecord>>
bestUsable(ResultsStore &store, const GemmProblem &p, const Validators &v) {
  KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> all,
                      store.measurements(p.key(), v.target));
  std::vector<TuningRecord> ok;
  for (TuningRecord &r : all) {
    if (r.status == "ok" && !r.binaryHash.empty() && r.timeMs > 0 &&
        checkRecord(r, v).empty()) {
      ok.push_back(std::move(r));
    }
  }
  std::sort(ok.begin(), ok.end(),
            [](const TuningRecord &a, const TuningRecord &b) {
              return a.timeMs < b.timeMs;
            });
  for (TuningRecord &r : ok) {
    KT_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                        store.getBinary(r.binaryHash));
    if (bytes) {
      return std::optional<TuningRecord>(std::move(r));
    }
  }
  return std::optional<TuningRecord>();
}

double gflops(const GemmProblem &p, double ms) {
  return ms > 0 ? p.flops() / (ms * 1e6) : 0;
}

double geomean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) {
    s += std::log(x);
  }
  return std::exp(s / double(v.size()));
}

/// Times `run` on its own rotating argument sets (freed on return).
Timing timeOne(const GemmRunFn &run, const GemmProblem &p, int64_t rotate,
               const TimingOptions &opt) {
  RotatingGemmArgs args(p, rotate, /*seed=*/7);
  return timeGemm(run, args, opt);
}

/// Lets the other library's worker threads stop spinning before timing.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }

void printRow(const Row &r) {
  fmt::print("{:>6} {:>6} {:>6} {:>6} {:>7} {:>12.1f} {:>10.1f} {:>7.3f}\n",
             r.problem.m, r.problem.n, r.problem.k, r.problem.layout(),
             r.threads, r.ktuneGflops, r.refGflops, r.ratio);
  std::fflush(stdout);
}

Status writeJson(const std::string &path, const std::vector<Row> &rows) {
  std::string s = "[\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row &r = rows[i];
    s += fmt::format("  {{\"m\": {}, \"n\": {}, \"k\": {}, \"layout\": \"{}\", "
                     "\"threads\": {}, \"ktune_gflops\": {:.3f}, "
                     "\"ref_gflops\": {:.3f}, \"ratio\": {:.4f}}}{}\n",
                     r.problem.m, r.problem.n, r.problem.k, r.problem.layout(),
                     r.threads, r.ktuneGflops, r.refGflops, r.ratio,
                     i + 1 < rows.size() ? "," : "");
  }
  s += "]\n";
  std::FILE *f = std::fopen(path.c_str(), "w");
  if (!f) {
    return unavailable(
        fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
  bool ok = std::fwrite(s.data(), 1, s.size(), f) == s.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    return unavailable(fmt::format("cannot write '{}'", path));
  }
  return Status::ok();
}

struct Options {
  bool quick = false;
  std::string shapes = "all";
  int maxCandidates = 24;
  std::string db;
  double budgetSeconds = 0;
  std::string json;
};

int run(const Options &opt) {
  std::vector<GemmProblem> problems = shapeSet(opt.shapes, opt.quick);

  TempDir tmp;
  std::string dbPath = opt.db;
  if (dbPath.empty()) {
    if (Status s = tmp.create(); !s) {
      fmt::print(stderr, "error: {}\n", s.toString());
      return 2;
    }
    dbPath = tmp.path() + "/bench.db";
  }
  auto opened = openSqliteStore(dbPath);
  if (!opened) {
    fmt::print(stderr, "error: {}\n", opened.status().toString());
    return 2;
  }
  ResultsStore &store = **opened;

  // Tuning and multi-threaded timing use all cores; the same winner is timed
  // again on a one-thread device.
  CpuDevice multi(0);
  CpuDevice single(1);
  CpuCompiler compiler(multi.target(), CpuCompiler::defaultCacheDir());
  const Validators validators = currentValidators(multi, compiler);
  const HostInfo &host = hostInfo();
  int64_t rotate = 2 * host.lastLevelCacheBytes;
  if (rotate <= 0) {
    rotate = int64_t(64) << 20;
  }
  rotate = std::min(rotate, int64_t(1) << 30);

  const char *blasConfig = openblas_get_config();
  fmt::print("ktune CPU GEMM benchmark (f32): ktune vs OpenBLAS ({}; core "
             "{})\n",
             blasConfig ? blasConfig : "unknown configuration",
             bench::openBlasCoreLine());
  fmt::print("host: {}, {} logical cores, last-level cache {} KiB\n",
             host.cpuModel, host.logicalCores, host.lastLevelCacheBytes >> 10);
  fmt::print("tuning: once per shape on the multi-threaded device ({} "
             "threads), at most {} candidates{}; the winner is reused for "
             "threads=1 (not re-tuned single-threaded)\n",
             multi.threads(), opt.maxCandidates,
             opt.budgetSeconds > 0
                 ? fmt::format(", {} s per shape", opt.budgetSeconds)
                 : "");
  fmt::print("results: {}\n",
             opt.db.empty()
                 ? std::string("a temporary database (deleted at exit)")
                 : fmt::format("'{}' (only shapes without a usable result "
                               "are tuned)",
                               opt.db));
  fmt::print("timing: both libraries in this run, cold cache (rotating "
             "buffers of at least {} MiB each), median time; "
             "gflops = 2*m*n*k / median; ratio = ktune_gflops / ref_gflops "
             "(> 1: ktune faster)\n\n",
             rotate >> 20);
  std::fflush(stdout);

  // Phase 1: tune every shape without a usable result.
  TuneOptions topt;
  topt.maxCandidates = opt.maxCandidates;
  topt.budgetSeconds = opt.budgetSeconds;
  topt.cancel = &gCancel;
  Tuner tuner(multi, compiler, store, topt);
  std::vector<std::optional<TuningRecord>> winners(problems.size());
  int failures = 0;
  for (size_t i = 0; i < problems.size() && !gCancel.load(); ++i) {
    const GemmProblem &p = problems[i];
    auto found = bestUsable(store, p, validators);
    if (!found) {
      fmt::print(stderr, "error: {}\n", found.status().toString());
      return 2;
    }
    const char *how = "reused";
    if (!*found) {
      auto outcome = tuner.tuneOne(p);
      if (!outcome) {
        fmt::print(stderr, "error: tuning {}: {}\n", p.key(),
                   outcome.status().toString());
        return 2;
      }
      found = bestUsable(store, p, validators);
      if (!found) {
        fmt::print(stderr, "error: {}\n", found.status().toString());
        return 2;
      }
      how = "tuned";
    }
    winners[i] = std::move(found).value();
    if (winners[i]) {
      fmt::print("{} {}: {} {} ({:.3f} ms)\n", how, p.key(),
                 winners[i]->templateName, winners[i]->params,
                 winners[i]->timeMs);
      std::fflush(stdout);
    } else if (!gCancel.load()) {
      fmt::print("FAILED {}: no candidate compiled, ran and matched "
                 "OpenBLAS\n",
                 p.key());
      ++failures;
    }
  }
  std::fflush(stdout);
  if (gCancel.load()) {
    fmt::print(stderr, "interrupted\n");
    return 130;
  }

  // Phase 2: time the winners and OpenBLAS at 1 thread and at all cores.
  std::vector<CpuDevice *> devices = {&single};
  if (multi.threads() > 1) {
    devices.push_back(&multi);
  }
  const TimingOptions timing{/*warmup=*/2, /*minIterations=*/5,
                             /*maxIterations=*/200, /*maxMs=*/500};
  fmt::print("\n{:>6} {:>6} {:>6} {:>6} {:>7} {:>12} {:>10} {:>7}\n", "m", "n",
             "k", "layout", "threads", "ktune_gflops", "ref_gflops", "ratio");
  std::vector<Row> rows;
  for (size_t i = 0; i < problems.size() && !gCancel.load(); ++i) {
    const GemmProblem &p = problems[i];
    if (!winners[i]) {
      continue;
    }
    auto bytes = store.getBinary(winners[i]->binaryHash);
    if (!bytes || !*bytes) {
      fmt::print(stderr, "FAILED {}: code object {} is not in the results\n",
                 p.key(), winners[i]->binaryHash);
      ++failures;
      continue;
    }
    auto loaded = loadGemm(multi, **bytes);
    if (!loaded) {
      fmt::print(stderr, "FAILED {}: {}\n", p.key(),
                 loaded.status().toString());
      ++failures;
      continue;
    }
    // The tuner checked this kernel already; check again what is timed here.
    if (auto err = checkGemm(loaded->runner(multi), p, /*seed=*/11); !err) {
      fmt::print(stderr, "FAILED {}: {}\n", p.key(), err.status().toString());
      ++failures;
      continue;
    }
    GemmRunFn ref = [&p](const float *a, const float *b, float *c, float alpha,
                         float beta) {
      referenceGemm(p, a, b, c, alpha, beta);
    };
    for (CpuDevice *device : devices) {
      openblas_set_num_threads(device->threads());
      settle();
      Timing kt = timeOne(loaded->runner(*device), p, rotate, timing);
      settle();
      Timing rt = timeOne(ref, p, rotate, timing);
      Row r;
      r.problem = p;
      r.threads = device->threads();
      r.ktuneGflops = gflops(p, kt.medianMs);
      r.refGflops = gflops(p, rt.medianMs);
      r.ratio = r.refGflops > 0 ? r.ktuneGflops / r.refGflops : 0;
      printRow(r);
      rows.push_back(r);
    }
  }

  std::vector<double> st, stSmall, mt;
  for (const Row &r : rows) {
    if (r.ratio <= 0) {
      continue;
    }
    if (r.threads == 1) {
      st.push_back(r.ratio);
      if (r.problem.m <= 16) {
        stSmall.push_back(r.ratio);
      }
    } else {
      mt.push_back(r.ratio);
    }
  }
  auto summary = [](const std::string &what, const std::vector<double> &v) {
    if (v.empty()) {
      fmt::print("{:<44} n/a\n", what);
    } else {
      fmt::print("{:<44} {:.3f} ({} shapes)\n", what, geomean(v), v.size());
    }
  };
  fmt::print("\ngeometric mean of ratio (ktune / OpenBLAS):\n");
  summary("  single-thread, all shapes", st);
  summary("  single-thread, M <= 16", stSmall);
  summary(
      fmt::format("  multi-thread ({} threads), all shapes", multi.threads()),
      mt);

  if (!opt.json.empty()) {
    if (Status s = writeJson(opt.json, rows); !s) {
      fmt::print(stderr, "error: {}\n", s.toString());
      return 2;
    }
    fmt::print("wrote {} rows to '{}'\n", rows.size(), opt.json);
  }
  if (gCancel.load()) {
    fmt::print(stderr, "interrupted\n");
    return 130;
  }
  if (failures > 0) {
    fmt::print(stderr, "{} shape(s) failed\n", failures);
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  CLI::App app{"Tunes f32 GEMM shapes with ktune and times the winners "
               "against OpenBLAS (1 thread and all cores)."};
  app.add_flag("--quick", opt.quick,
               "Small subset for smoke runs: 256^3, 1000^3, 777x333x555, "
               "1x4096x4096 and 16x4096x4096 (NT); overrides --shapes");
  app.add_option("--shapes", opt.shapes,
                 "all (square + odd + llm), square, odd, llm (representative "
                 "LLM subset) or llm-full (every LLM shape)")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "square", "odd", "llm", "llm-full"}));
  app.add_option("--max-candidates", opt.maxCandidates,
                 "Candidates tuned per shape")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--db", opt.db,
                 "Results file to reuse and extend (default: a temporary "
                 "database deleted at exit)");
  app.add_option("--budget-s", opt.budgetSeconds,
                 "Tuning wall-clock cap per shape in seconds (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", opt.json, "Also write the rows as a JSON array");
  CLI11_PARSE(app, argc, argv);
  bench::warnIfWeakOpenBlasCore();
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  return run(opt);
}
