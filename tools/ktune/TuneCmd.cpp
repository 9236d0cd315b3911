// `ktune tune`: tune every problem of a problems file into a results DB.
#include "Commands.h"
#include "HipEmit.h"

#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/MlirGpu.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/problem/ProblemsFile.h"
#include "ktune/tuner/CudaTuner.h"
#include "ktune/tuner/HipTuner.h"
#include "ktune/tuner/Tuner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <unistd.h>

namespace kt::cli {
namespace {

std::atomic<bool> gCancel{false};

extern "C" void onSigint(int) {
  if (gCancel.exchange(true)) {
    std::_Exit(130); // Second Ctrl-C: stop now (results are committed).
  }
}

struct TuneArgs {
  std::string problems, db = "ktune.db", target = "auto";
  std::string hipCompiler = defaultHipCompiler();
  int jobs = 0, threads = 0, maxCandidates = 24, device = 0;
  double budget = 0, compileTimeout = 300;
  int64_t rotateMiB = 0, compileMemMiB = 8192;
  bool overlap = false, noCache = false, quiet = false, inProcess = false,
       noVendor = false, fromMisses = false;
};

/// The problems lookups missed (the results file's misses table) for the
/// targets tuned here, most-asked first, leaving out those tuned since for
/// the device model that missed them.
Result<ProblemsFileContents>
readMisses(ResultsStore &store, const std::vector<std::string> &targets) {
  KT_ASSIGN_OR_RETURN(std::vector<MissRecord> misses, store.misses());
  std::stable_sort(misses.begin(), misses.end(),
                   [](const MissRecord &a, const MissRecord &b) {
                     return a.count > b.count;
                   });
  ProblemsFileContents out;
  std::set<std::string> seen;
  for (const MissRecord &m : misses) {
    if (std::find(targets.begin(), targets.end(), m.target) == targets.end() ||
        !seen.insert(m.problemKey).second) {
      continue;
    }
    KT_ASSIGN_OR_RETURN(std::optional<TuningRecord> w,
                        store.winner(m.problemKey, m.target, m.deviceModel));
    if (w) {
      continue;
    }
    if (isAttentionSignature(m.problemKey)) {
      Result<AttentionProblem> a = parseAttentionProblem(m.problemKey);
      if (a.isOk()) {
        out.attention.push_back(*a);
      } else {
        out.errors.push_back(fmt::format("{}: recorded miss '{}': {}; skipped",
                                         store.path(), m.problemKey,
                                         a.status().message()));
      }
      continue;
    }
    Result<GemmProblem> p = parseGemmProblem(m.problemKey);
    if (!p.isOk()) {
      out.errors.push_back(fmt::format("{}: recorded miss '{}' is not a GEMM "
                                       "problem: {}; skipped",
                                       store.path(), m.problemKey,
                                       p.status().message()));
      continue;
    }
    out.problems.push_back(*p);
  }
  return out;
}

/// A measurement worker (`name`: ktune-cuda-worker or ktune-hip-worker):
/// $`env`, next to ktune, or in the build tree beside tools/ktune.
std::string findWorker(const char *name, const char *env) {
  if (const char *path = std::getenv(env)) {
    return path;
  }
  namespace fs = std::filesystem;
  fs::path self = fs::path(selfExecutable()).parent_path();
  for (fs::path p : {self / name, self / ".." / name / name}) {
    if (::access(p.c_str(), X_OK) == 0) {
      return fs::weakly_canonical(p).string();
    }
  }
  return (self / name).string();
}

/// The limits of the compile workers (for the CPU and the GPU candidates
/// compiled here) from the command line.
CompileLimits compileLimits(const TuneArgs &a) {
  CompileLimits l;
  if (!a.inProcess) {
    l.worker = selfExecutable();
  }
  l.timeoutSeconds = a.compileTimeout;
  l.memoryBytes = a.compileMemMiB << 20;
  return l;
}

/// The worker options every GPU tuner takes from the command line.
GpuWorkerOptions workerOptions(const TuneArgs &a, const char *name,
                               const char *env) {
  GpuWorkerOptions w;
  w.worker = findWorker(name, env);
  w.device = a.device;
  w.rotateBytes = a.rotateMiB << 20;
  w.candidateTimeoutSeconds = a.compileTimeout + 60;
  w.cacheDir = a.noCache ? "" : CpuCompiler::defaultCacheDir();
  return w;
}

/// The GPU tuner for --target auto / cuda[:sm_XX], or the reason there is
/// none.
Result<std::unique_ptr<GpuTuner>> makeCudaTuner(const TuneArgs &a,
                                                ResultsStore &store) {
  KT_ASSIGN_OR_RETURN(const cuda::Driver *driver, cuda::Driver::get());
  KT_ASSIGN_OR_RETURN(int count, driver->deviceCount());
  if (a.device < 0 || a.device >= count) {
    return unavailable(
        fmt::format("no CUDA device {} ({} present)", a.device, count));
  }
  KT_ASSIGN_OR_RETURN(cuda::DeviceInfo gpu, driver->deviceInfo(a.device));
  if (a.target.rfind("cuda:", 0) == 0 && a.target != "cuda:" + gpu.arch()) {
    return invalidArgument(fmt::format(
        "--target {} but CUDA device {} is {} ({}); use --target cuda or "
        "cuda:{}",
        a.target, a.device, gpu.name, gpu.arch(), gpu.arch()));
  }
  TargetDesc target;
  target.kind = TargetKind::Cuda;
  target.arch = gpu.arch();
  KT_ASSIGN_OR_RETURN(std::string toolchain, cudaToolchainFingerprint(target));
  CudaTuneOptions opt;
  opt.maxCandidates = a.maxCandidates;
  opt.budgetSeconds = a.budget;
  opt.worker = workerOptions(a, "ktune-cuda-worker", "KTUNE_CUDA_WORKER");
  opt.progress = !a.quiet;
  opt.cancel = &gCancel;
  opt.vendorAlgorithms = a.noVendor ? 0 : 4;
  opt.mlir = mlirPtxFrontend();
  opt.compileLimits = compileLimits(a);
  return std::unique_ptr<GpuTuner>(
      std::make_unique<CudaTuner>(gpu, toolchain, store, opt));
}

/// The GPU tuner for --target auto / hip[:gfxNNN], or the reason there is
/// none.
Result<std::unique_ptr<GpuTuner>> makeHipTuner(const TuneArgs &a,
                                               ResultsStore &store) {
  KT_ASSIGN_OR_RETURN(const hip::Driver *driver, hip::Driver::get());
  KT_ASSIGN_OR_RETURN(int count, driver->deviceCount());
  if (a.device < 0 || a.device >= count) {
    return unavailable(
        fmt::format("no HIP device {} ({} present)", a.device, count));
  }
  KT_ASSIGN_OR_RETURN(hip::DeviceInfo gpu, driver->deviceInfo(a.device));
  if (a.target.rfind("hip:", 0) == 0 && a.target != "hip:" + gpu.arch) {
    return invalidArgument(fmt::format(
        "--target {} but HIP device {} is {} ({}); use --target hip or hip:{}",
        a.target, a.device, gpu.name, gpu.arch, gpu.arch));
  }
  KT_ASSIGN_OR_RETURN(TargetDesc target, parseTarget("hip:" + gpu.arch));
  KT_ASSIGN_OR_RETURN(HipFrontend frontend, parseHipFrontend(a.hipCompiler));
  KT_ASSIGN_OR_RETURN(std::string toolchain,
                      hipToolchainFingerprint(target, frontend));
  HipTuneOptions opt;
  opt.maxCandidates = a.maxCandidates;
  opt.budgetSeconds = a.budget;
  opt.worker = workerOptions(a, "ktune-hip-worker", "KTUNE_HIP_WORKER");
  opt.frontend = frontend;
  opt.compileTimeoutSeconds = a.compileTimeout;
  opt.compileLimits = compileLimits(a);
  opt.progress = !a.quiet;
  opt.cancel = &gCancel;
  opt.vendorAlgorithms = a.noVendor ? 0 : 4;
  return std::unique_ptr<GpuTuner>(
      std::make_unique<HipTuner>(gpu, toolchain, store, opt));
}

} // namespace

Runner addTune(CLI::App &app) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App *c = app.add_subcommand(
      "tune", "Tune each problem of a problems file; print the winners");
  CLI::Option *problems = c->add_option(
      "--problems", a->problems,
      "Problems file: ktune signatures (gemm_f32_NT_16x4096x4096, "
      "attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128), or PyTorch "
      "tunableop_untuned*.csv / results CSV lines");
  CLI::Option *misses = c->add_flag(
      "--from-misses", a->fromMisses,
      "Tune the problems runtime lookups recorded as missed in --db (kt.h "
      "record_misses) that are still untuned, most-asked first");
  problems->excludes(misses);
  c->add_option("--db", a->db, "SQLite results file (created if missing)")
      ->capture_default_str();
  c->add_option("--target", a->target,
                "auto: each problem on the GPU (CUDA, else HIP) when a "
                "family serves it there, else the CPU; cpu; cuda or "
                "cuda:sm_XX, hip or hip:gfxNNN: that GPU only")
      ->capture_default_str();
  c->add_option("--device", a->device, "GPU device ordinal")
      ->capture_default_str();
  c->add_flag("--no-vendor", a->noVendor,
              "GPU: do not also measure cuBLASLt's / hipBLASLt's algorithms "
              "(by default their top 4 compete, so a stored winner is never "
              "slower than the vendor library)");
  addHipCompilerOption(c, a->hipCompiler);
  c->add_option("--jobs", a->jobs, "Compile threads (default: one per core)");
  c->add_option("--threads", a->threads,
                "Threads the kernels run on (default: all cores)");
  c->add_option("--budget-s", a->budget,
                "Seconds per problem before moving on (0: no limit)");
  c->add_option("--max-candidates", a->maxCandidates,
                "Configurations measured per problem")
      ->capture_default_str();
  c->add_option("--rotate-mib", a->rotateMiB,
                "Rotating-buffer size in MiB (default: 2x last-level cache, "
                "at most 1024)");
  c->add_flag("--overlap", a->overlap,
              "Compile the next candidates while measuring (faster, noisier "
              "on machines with few cores)");
  c->add_flag("--no-binary-cache", a->noCache,
              "Do not use the on-disk compiled-kernel cache");
  c->add_flag("--quiet", a->quiet, "No progress bar");
  c->add_option("--compile-timeout-s", a->compileTimeout,
                "Kill a candidate's compile after this many seconds and "
                "record it as failed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_option("--compile-memory-mib", a->compileMemMiB,
                "Address-space cap of each compile worker process")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c->add_flag("--in-process-compile", a->inProcess,
              "Compile in this process (no worker, no timeout or memory cap; "
              "a HIP clang compile keeps its timeout)");
  return [a] {
    const bool wantAuto = a->target == "auto";
    const bool wantCuda =
        a->target == "cuda" || a->target.rfind("cuda:", 0) == 0;
    const bool wantHip = a->target == "hip" || a->target.rfind("hip:", 0) == 0;
    const bool gpuOnly = wantCuda || wantHip;
    if (!wantAuto && !gpuOnly) {
      auto target = parseTarget(a->target);
      if (!target) {
        return fail(target.status().message());
      }
      if (target->kind != TargetKind::Cpu) {
        return fail(fmt::format("target '{}' cannot be tuned here; use "
                                "--target auto, cpu, cuda or hip",
                                a->target));
      }
    } else if (gpuOnly && a->target != "cuda" && a->target != "hip") {
      if (auto t = parseTarget(a->target); !t) {
        return fail(t.status().message());
      }
    }
    // Checked whatever the target: a wrong $KTUNE_HIP_COMPILER (the
    // default) is an error here too, not only once a HIP GPU is found.
    if (auto f = parseHipFrontend(a->hipCompiler); !f) {
      return fail(f.status().message());
    }
    if (a->problems.empty() && !a->fromMisses) {
      return fail("pass --problems FILE, or --from-misses to tune what "
                  "runtime lookups missed");
    }
    auto store = openSqliteStore(a->db);
    if (!store) {
      return fail(store.status().message());
    }
    std::unique_ptr<GpuTuner> gpu;
    if (wantAuto || wantCuda) {
      auto made = makeCudaTuner(*a, **store);
      if (made) {
        gpu = std::move(*made);
      } else if (wantCuda) {
        return fail(made.status().message());
      }
    }
    if (!gpu && (wantAuto || wantHip)) {
      auto made = makeHipTuner(*a, **store);
      if (made) {
        gpu = std::move(*made);
      } else if (wantHip) {
        return fail(made.status().message());
      }
    }
    std::vector<std::string> targets;
    if (!gpuOnly) {
      targets.push_back(TargetDesc::host().toString());
    }
    if (gpu) {
      targets.push_back(gpu->target().toString());
    }
    auto file = a->fromMisses ? readMisses(**store, targets)
                              : readProblemsFile(a->problems);
    if (!file) {
      return fail(file.status().message());
    }
    for (const std::string &e : file->errors) {
      fmt::print(stderr, "ktune: warning: {}\n", e);
    }
    const size_t total = file->problems.size() + file->attention.size();
    if (total == 0 && a->fromMisses) {
      fmt::print("no untuned misses recorded in {} for {}; nothing to tune\n",
                 a->db, fmt::join(targets, ", "));
      return 0;
    }
    if (total == 0) {
      return fail(fmt::format("{} holds no usable problem", a->problems));
    }
    CpuDevice device(a->threads);
    CpuCompiler compiler(device.target(),
                         a->noCache ? "" : CpuCompiler::defaultCacheDir());
    TuneOptions opt;
    opt.compileJobs = a->jobs;
    opt.maxCandidates = a->maxCandidates;
    opt.budgetSeconds = a->budget;
    if (a->rotateMiB > 0) {
      opt.rotateBytes = a->rotateMiB << 20;
    }
    opt.overlap = a->overlap;
    opt.compileLimits = compileLimits(*a);
    opt.progress = !a->quiet;
    opt.cancel = &gCancel;
    std::signal(SIGINT, onSigint);
    Tuner tuner(device, compiler, **store, opt);
    if (gpu) {
      fmt::print("tuning {} problem(s) on {} ({} device {}){} into {}\n", total,
                 gpu->validators().deviceModel,
                 gpu->target().kind == TargetKind::Hip ? "HIP" : "CUDA",
                 a->device,
                 gpuOnly ? ""
                         : " and the cpu where no GPU family "
                           "serves a problem",
                 a->db);
    } else {
      fmt::print("tuning {} problem(s) on cpu ({}, {} threads) into {}\n",
                 total, device.info().name, device.threads(), a->db);
    }
    fmt::print("{:<54} {:>10} {:>10} {:>6}  {}\n", "problem", "ms", "GFLOP/s",
               "cands", "winner");
    int failures = 0;
    // Each problem in file order (GEMMs, then attention): on the GPU where
    // a family serves it there, else the CPU.
    struct Job {
      std::string key;
      std::function<Result<ProblemOutcome>()> run; ///< Null: not servable.
      std::string whyNot;
    };
    std::vector<Job> jobs;
    for (const GemmProblem &p : file->problems) {
      const bool onGpu = gpu && gpu->serves(p);
      if (gpuOnly && !onGpu) {
        jobs.push_back(
            {p.key(), nullptr,
             "no GPU family serves it on " + gpu->target().toString()});
      } else if (onGpu) {
        jobs.push_back({p.key(), [&gpu, p] { return gpu->tuneOne(p); }, ""});
      } else {
        jobs.push_back({p.key(), [&tuner, p] { return tuner.tuneOne(p); }, ""});
      }
    }
    for (const AttentionProblem &p : file->attention) {
      const bool onGpu = gpu && gpu->serves(p);
      if (gpuOnly && !onGpu) {
        jobs.push_back(
            {p.key(), nullptr,
             "no GPU family serves it on " + gpu->target().toString()});
      } else if (onGpu) {
        jobs.push_back(
            {p.key(), [&gpu, p] { return gpu->tuneAttention(p); }, ""});
      } else {
        jobs.push_back(
            {p.key(), [&tuner, p] { return tuner.tuneAttention(p); }, ""});
      }
    }
    for (const Job &job : jobs) {
      if (gCancel.load()) {
        break;
      }
      if (!job.run) {
        ++failures;
        fmt::print("{:<54} {:>10} {:>10} {:>6}  {}\n", job.key, "-", "-", 0,
                   job.whyNot);
        continue;
      }
      auto o = job.run();
      if (!o) {
        std::signal(SIGINT, SIG_DFL);
        return fail(fmt::format("tuning {} stopped: {}; results so far are "
                                "kept in {}",
                                job.key, o.status().message(), a->db));
      }
      if (!o->winner) {
        ++failures;
        // Nothing measured at all: no family offered a configuration.
        const bool unserved = o->candidates + o->skipped + o->failed == 0;
        fmt::print("{:<54} {:>10} {:>10} {:>6}  {}\n", job.key, "-", "-",
                   o->candidates,
                   unserved ? "no template family serves it on this target "
                              "(docs/problems.md lists who serves what)"
                            : "no correct candidate");
        continue;
      }
      const TuningRecord &w = *o->winner;
      fmt::print("{:<54} {:>10.4f} {:>10.1f} {:>6}  {} {}\n", job.key, w.timeMs,
                 o->flops / (w.timeMs * 1e6), o->candidates + o->skipped,
                 w.templateName, w.params);
      std::fflush(stdout);
    }
    std::signal(SIGINT, SIG_DFL);
    if (gCancel.load()) {
      fmt::print(stderr,
                 "ktune: interrupted; every finished result is in "
                 "{}\n",
                 a->db);
      return 130;
    }
    return failures ? 2 : 0;
  };
}

} // namespace kt::cli
