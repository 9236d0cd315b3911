// Lookup contexts: reading a results file into an index, loading winners'
// code objects, answering lookups and recording misses.
#include "LookupContext.h"

#include "ktune/drivers/hip/HipAttentionLaunch.h"

#include "Fallback.h"

#include "ktune/base/ScratchDir.h"
#include "ktune/base/Subprocess.h"
#include "ktune/cache/ResultsFile.h"
#include "ktune/device/HostInfo.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <utility>

#include <unistd.h>

using namespace kt;
using namespace kt::lookup;

namespace {

/// True if `path` holds a winner for `target` (false if it cannot be read:
/// opening it for the chosen device then says why).
bool holdsResultsFor(const std::string &path, const std::string &target) {
  Result<OpenedResults> opened = openResultsFile(path, "cpu");
  if (!opened.isOk()) {
    return false;
  }
  Result<std::vector<TuningRecord>> winners = opened->store->winners();
  if (!winners.isOk()) {
    return false;
  }
  for (const TuningRecord &w : *winners) {
    if (w.target == target) {
      return true;
    }
  }
  return false;
}

/// Why a record does not fit this machine, as a short category for counts.
/// The attention operands of a launch; `scale` <= 0: 1 / sqrt(d).
cuda::AttentionOperands attentionOperands(uint64_t q, uint64_t k, uint64_t v,
                                          uint64_t o, float scale) {
  cuda::AttentionOperands ops;
  ops.q = q;
  ops.k = k;
  ops.v = v;
  ops.o = o;
  ops.scale = scale > 0.0f ? scale : 0.0f;
  return ops;
}

/// A kernel's split-K (GEMM) or split-KV (attention) scratch (`bytes`,
/// semaphores at `offset`) in the caller's `workspace`: sets the two
/// addresses, or says what to pass.
Status splitScratch(const kt_kernel &kernel, uint64_t bytes, uint64_t offset,
                    uint64_t workspace, uint64_t &scratch,
                    uint64_t &semaphores) {
  if (bytes == 0) {
    return Status::ok();
  }
  if (workspace == 0) {
    return invalidArgument(fmt::format(
        "the kernel for {} splits {} and needs a zeroed workspace of {} "
        "bytes (kt_kernel_info.workspace_bytes); pass one",
        kernel.isAttention ? kernel.attention.key() : kernel.problem.key(),
        kernel.isAttention ? "the KV length" : "K", bytes));
  }
  scratch = workspace;
  semaphores = workspace + offset;
  return Status::ok();
}

std::string skipCategory(const TuningRecord &r, const Validators &v) {
  if (r.deviceModel != v.deviceModel) {
    return "measured on another device model";
  }
  if (!featuresFit(r, v)) {
    return v.target.rfind("cuda", 0) == 0
               ? "measured on a GPU with another SM count"
           : v.target.rfind("hip", 0) == 0
               ? "measured on a GPU with another CU count"
               : "measured with other CPU features";
  }
  return "built by another compiler";
}

} // namespace

Result<std::unique_ptr<kt_context>>
kt_context::create(const ContextOptions &options) {
  std::unique_ptr<kt_context> ctx(new kt_context());
  ctx->options_ = options;
  const std::string &device = options.device;
  // "cuda:N" / "hip:N" ("cuda", "hip": N = 0): the ordinal, or -1.
  auto ordinalOf = [&](size_t prefix) -> int {
    if (device.size() == prefix - 1) {
      return 0;
    }
    char *end = nullptr;
    long v = std::strtol(device.c_str() + prefix, &end, 10);
    return end == device.c_str() + prefix || *end != '\0' || v < 0 ? -1
                                                                   : int(v);
  };
  auto gpu = [&](Result<std::unique_ptr<DeviceKernels>> made) -> Status {
    if (!made.isOk()) {
      return unavailable(fmt::format("device '{}' cannot be used: {}", device,
                                     made.status().message()));
    }
    ctx->kernels_ = std::move(made).value();
    return Status::ok();
  };
  if (device.empty()) {
    // Best available: CUDA device 0, else HIP device 0, if the file holds
    // results tuned for it; else the CPU.
    for (auto *make : {&cudaKernels, &hipKernels}) {
      if (Result<std::unique_ptr<DeviceKernels>> k = make(0);
          k.isOk() &&
          holdsResultsFor(options.resultsPath, (*k)->validators().target)) {
        ctx->kernels_ = std::move(k).value();
        break;
      }
    }
    if (!ctx->kernels_) {
      ctx->device_ = std::make_unique<CpuDevice>(options.numThreads);
      ctx->kernels_ = cpuKernels(*ctx->device_);
    }
  } else if (device == "cpu") {
    ctx->device_ = std::make_unique<CpuDevice>(options.numThreads);
    ctx->kernels_ = cpuKernels(*ctx->device_);
  } else if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    const int ordinal = ordinalOf(5);
    if (ordinal < 0) {
      return invalidArgument(fmt::format(
          "device '{}': expected cuda:N with N a device ordinal", device));
    }
    KT_RETURN_IF_ERROR(gpu(cudaKernels(ordinal)));
  } else if (device == "hip" || device.rfind("hip:", 0) == 0) {
    const int ordinal = ordinalOf(4);
    if (ordinal < 0) {
      return invalidArgument(fmt::format(
          "device '{}': expected hip:N with N a device ordinal", device));
    }
    KT_RETURN_IF_ERROR(gpu(hipKernels(ordinal)));
  } else {
    return invalidArgument(fmt::format(
        "device '{}' is not a device; pass \"cpu\", \"cuda:N\", \"hip:N\" "
        "or NULL",
        device));
  }
  ctx->validators_ = ctx->kernels_->validators();
  KT_RETURN_IF_ERROR(ctx->readResults());
  return ctx;
}

kt_context::~kt_context() {
  Status flushed = Status::ok();
  if (options_.recordMisses || !options_.missesCsvPath.empty()) {
    flushed = flushMisses();
  }
  if (options_.reportPath.empty()) {
    return;
  }
  std::string text = report();
  if (!flushed.isOk()) {
    text += "  misses not written: " + flushed.message() + "\n";
  }
  if (options_.reportPath == "-") {
    std::fputs(text.c_str(), stderr);
  } else {
    std::ofstream(options_.reportPath, std::ios::app) << text;
  }
}

Status kt_context::readResults() {
  KT_ASSIGN_OR_RETURN(
      OpenedResults opened,
      openResultsFile(options_.resultsPath, validators_.target));
  sqliteFile_ = opened.sqlite;
  store_ = std::move(opened.store);
  fileErrors_ = std::move(opened.csvErrors);
  return readStore(*store_);
}

Status kt_context::readStore(ResultsStore &store) {
  KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> winners, store.winners());
  // Per problem, the winner to use: one that fits this machine, measured
  // on this device model, then the fastest (winners() orders by key).
  std::vector<TuningRecord> chosen;
  auto better = [&](const TuningRecord &a, const TuningRecord &b) {
    bool fitA = checkRecord(a, validators_).empty();
    bool fitB = checkRecord(b, validators_).empty();
    if (fitA != fitB) {
      return fitA;
    }
    bool hereA = a.deviceModel == validators_.deviceModel;
    bool hereB = b.deviceModel == validators_.deviceModel;
    if (hereA != hereB) {
      return hereA;
    }
    return a.timeMs < b.timeMs;
  };
  for (TuningRecord &w : winners) {
    if (w.target != validators_.target) {
      ++otherTargets_;
      continue;
    }
    if (!chosen.empty() && chosen.back().problemKey == w.problemKey) {
      if (better(w, chosen.back())) {
        chosen.back() = std::move(w);
      }
      continue;
    }
    chosen.push_back(std::move(w));
  }

  std::vector<TuningRecord> kept, keptAttention;
  for (TuningRecord &r : chosen) {
    if (r.op == "attention") {
      Result<AttentionProblem> a = parseAttentionProblem(r.problemKey);
      if (!a.isOk()) {
        countSkipped("unreadable problem key");
        continue;
      }
      attentionIndex_.emplace(*a, int64_t(keptAttention.size()));
      keptAttention.push_back(std::move(r));
      continue;
    }
    Result<GemmProblem> p = parseGemmProblem(r.problemKey);
    if (r.op != "gemm" || !p.isOk()) {
      countSkipped(r.op != "gemm" ? "an op this library does not look up"
                                  : "unreadable problem key");
      continue;
    }
    problems_.push_back(*p);
    kept.push_back(std::move(r));
  }
  index_.emplace(problems_);
  entries_ = std::make_unique<Entry[]>(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    Entry &e = entries_[i];
    e.record = std::move(kept[i]);
    e.gemm = problems_[i];
    if (prepareEntry(e)) {
      index_->publish(int64_t(i), e.kernel.get());
    }
  }
  attentionEntries_ = std::make_unique<Entry[]>(keptAttention.size());
  for (auto &[problem, i] : attentionIndex_) {
    Entry &e = attentionEntries_[i];
    e.record = std::move(keptAttention[size_t(i)]);
    e.attention = problem;
    e.isAttention = true;
    prepareEntry(e);
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    const Entry &e = entries_[i];
    if (e.failure.isOk() && kernels_->shapeGeneric(e.record)) {
      fallbackCandidates_.push_back(
          FallbackCandidate{int64_t(i), problems_[i]});
    }
  }
  return Status::ok();
}

bool kt_context::prepareEntry(Entry &e) {
  const TuningRecord &r = e.record;
  std::string why = checkRecord(r, validators_);
  if (options_.checkValidators && !why.empty()) {
    e.failure = notFound(fmt::format(
        "the tuned result for {} in '{}' ({} {}) does not fit this "
        "machine: {}",
        r.problemKey, options_.resultsPath, r.templateName, r.params, why));
    countSkipped(skipCategory(r, validators_));
  } else if (r.binaryHash.empty() && r.templateName == "cublaslt") {
    // The tuner's vendor family (CudaWorker.h): the library itself won.
    e.failure = notFound(fmt::format(
        "the fastest kernel measured for {} on this GPU is cuBLASLt's ({}); "
        "use it as your default",
        r.problemKey, r.params));
    countSkipped("the vendor library is fastest");
  } else if (options_.jit && (r.binaryHash.empty() || !sqliteFile_)) {
    e.compile = true;
    ++toCompile_;
    return false; // Compiled by its first lookup.
  } else if (r.binaryHash.empty()) {
    e.failure = notFound(fmt::format(
        "the tuned result for {} in '{}' ({} {}) has no stored code object; "
        "re-tune keeping code objects",
        r.problemKey, options_.resultsPath, r.templateName, r.params));
    countSkipped("no stored code object");
  } else if (!sqliteFile_) {
    e.failure = notFound(fmt::format(
        "the tuned result for {} ({} {}) comes from the CSV file '{}', "
        "which carries no code objects; deploy the SQLite results file",
        r.problemKey, r.templateName, r.params, options_.resultsPath));
    countSkipped("no code object (CSV files carry none)");
  } else if (options_.loadOnFirstUse) {
    ++usable_;
    return false; // loaded stays false
  } else if (Status st = loadNow(e); !st.isOk()) {
    e.failure = st;
    countSkipped("code object missing or unloadable");
  } else {
    ++usable_;
  }
  e.loaded.store(true, std::memory_order_release);
  return e.kernel != nullptr;
}

void kt_context::countSkipped(const std::string &reason) {
  ++skippedBy_[reason];
}

Status kt_context::loadNow(Entry &entry) {
  const TuningRecord &r = entry.record;
  auto context = [&](const Status &st) {
    return st.withContext(fmt::format("loading the tuned kernel for {} ({} {}) "
                                      "from '{}'",
                                      r.problemKey, r.templateName, r.params,
                                      options_.resultsPath));
  };
  const std::string moduleKey =
      entry.compile
          ? "jit:" + r.templateName + ":" + r.params + ":" + r.problemKey
          : r.binaryHash;
  std::shared_ptr<const void> &module = modules_[moduleKey];
  if (!module) {
    Result<std::optional<std::string>> bytes =
        entry.compile ? Result<std::optional<std::string>>(std::nullopt)
                      : store_->getBinary(r.binaryHash);
    if (!bytes.isOk()) {
      return context(bytes.status());
    }
    if (!bytes->has_value() && options_.jit) {
      Result<std::string> compiled = compileNow(r);
      if (!compiled.isOk()) {
        modules_.erase(moduleKey);
        return context(compiled.status());
      }
      compiled_.fetch_add(1, std::memory_order_relaxed);
      *bytes = std::move(compiled).value();
    }
    if (!bytes->has_value()) {
      modules_.erase(moduleKey);
      return notFound(fmt::format(
          "the code object {} of the tuned result for {} is missing from "
          "'{}'; re-tune or copy the complete results file",
          r.binaryHash, r.problemKey, options_.resultsPath));
    }
    Result<std::shared_ptr<const void>> loaded = kernels_->loadModule(**bytes);
    if (!loaded.isOk()) {
      modules_.erase(r.binaryHash);
      return context(loaded.status());
    }
    module = std::move(loaded).value();
  }
  auto kernel = std::make_unique<kt_kernel>();
  kernel->owner = this;
  kernel->module = module;
  kernel->problem = entry.gemm;
  kernel->attention = entry.attention;
  kernel->isAttention = entry.isAttention;
  if (Status st = kernels_->makeKernel(module, r, *kernel); !st.isOk()) {
    return context(st);
  }
  kernel->problemKey = r.problemKey;
  kernel->templateName = r.templateName;
  kernel->params = r.params;
  kernel->timeMs = r.timeMs;
  entry.kernel = std::move(kernel);
  return Status::ok();
}

Result<std::string> kt_context::compileNow(const TuningRecord &r) {
  std::string compiler = options_.jitCompiler;
  if (compiler.empty()) {
    // "ktune" on the PATH.
    const char *path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    size_t start = 0;
    while (start <= dirs.size()) {
      size_t end = dirs.find(':', start);
      std::string dir = dirs.substr(start, end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/ktune";
      if (::access(candidate.c_str(), X_OK) == 0) {
        compiler = candidate;
        break;
      }
      if (end == std::string::npos) {
        break;
      }
      start = end + 1;
    }
    if (compiler.empty()) {
      return unavailable(
          "jit is on but no ktune executable was found on the PATH; set "
          "jit_compiler to its path");
    }
  }
  ScratchDir dir("ktune-jit");
  if (dir.path.empty()) {
    return unavailable("cannot create a scratch directory for jit");
  }
  const std::string out = (dir.path / "kernel.bin").string();
  const std::string err = (dir.path / "stderr.txt").string();
  const char *emit = isCuda() ? "cubin" : isHip() ? "hsaco" : "so";
  Result<int> rc =
      runProcess({compiler, "compile", "--target", validators_.target,
                  "--problem", r.problemKey, "--template", r.templateName,
                  "--config", r.params, "--emit", emit, "-o", out},
                 "", err, options_.jitTimeoutSeconds);
  // Not found, as documented: the problem has no kernel here, and the
  // caller goes on with its default.
  if (!rc.isOk() && rc.status().code() == StatusCode::DeadlineExceeded) {
    return notFound(fmt::format(
        "compiling {} {} with '{}' took longer than jit_timeout_s ({} s) "
        "and was stopped; raise jit_timeout_s, or tune the problem ahead "
        "so that the results file carries its code object",
        r.templateName, r.params, compiler, options_.jitTimeoutSeconds));
  }
  if (!rc.isOk() || *rc != 0) {
    std::string log = readTextFile(err);
    if (log.size() > 2000) {
      log = "..." + log.substr(log.size() - 2000);
    }
    return notFound(fmt::format("compiling {} {} with '{}' failed ({}): {}",
                                r.templateName, r.params, compiler,
                                rc.isOk() ? fmt::format("exit status {}", *rc)
                                          : rc.status().message(),
                                log));
  }
  std::string bytes = readTextFile(out);
  if (bytes.empty()) {
    return notFound(
        fmt::format("'{}' wrote no code object to {}", compiler, out));
  }
  return bytes;
}

void kt_context::load(Entry &entry) {
  if (entry.loaded.load(std::memory_order_acquire)) {
    return;
  }
  std::lock_guard<std::mutex> lock(loadMutex_);
  if (entry.loaded.load(std::memory_order_relaxed)) {
    return;
  }
  if (Status st = loadNow(entry); !st.isOk()) {
    entry.failure = st;
  } else if (!entry.isAttention) {
    index_->publish(&entry - entries_.get(), entry.kernel.get());
  }
  entry.loaded.store(true, std::memory_order_release);
}

kt_context::Counters &kt_context::counters() {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned slot =
      next.fetch_add(1, std::memory_order_relaxed) % kCounterShards;
  return counters_[slot];
}

Result<const kt_kernel *> kt_context::lookupGemm(const GemmProblem &problem) {
  const ProblemIndex::Slot *slot = index_->find(problem);
  int64_t e = -1;
  if (slot) {
    if (const kt_kernel *k = slot->kernel.load(std::memory_order_acquire)) {
      counters().hits.fetch_add(1, std::memory_order_relaxed);
      return k;
    }
    e = slot->entry;
    Entry &entry = entries_[e];
    load(entry);
    if (entry.kernel) {
      counters().hits.fetch_add(1, std::memory_order_relaxed);
      return static_cast<const kt_kernel *>(entry.kernel.get());
    }
  }
  MissLog::Result miss =
      misses_.record(problem, [&] { return resolveMiss(problem, e); });
  if (miss.fallback) {
    counters().fallbacks.fetch_add(1, std::memory_order_relaxed);
    return miss.fallback;
  }
  counters().misses.fetch_add(1, std::memory_order_relaxed);
  return *miss.failure;
}

Result<const kt_kernel *>
kt_context::lookupAttention(const AttentionProblem &problem) {
  auto it = attentionIndex_.find(problem);
  if (it != attentionIndex_.end()) {
    Entry &entry = attentionEntries_[it->second];
    load(entry);
    if (entry.kernel) {
      counters().hits.fetch_add(1, std::memory_order_relaxed);
      return static_cast<const kt_kernel *>(entry.kernel.get());
    }
  }
  const Status *failure =
      attentionMisses_
          .record(problem,
                  [&] {
                    MissOutcome out;
                    out.failure =
                        it != attentionIndex_.end()
                            ? attentionEntries_[it->second].failure
                            : notFound(fmt::format(
                                  "no tuned result for {} on target '{}' in "
                                  "'{}'; use the default kernel",
                                  problem.key(), validators_.target,
                                  options_.resultsPath));
                    return out;
                  })
          .failure;
  counters().misses.fetch_add(1, std::memory_order_relaxed);
  return *failure;
}

Status kt_context::launchAttention(const kt_kernel &kernel, const void *q,
                                   const void *k, const void *v, void *o,
                                   float scale) {
  if (!device_ || kernel.cpuAttention.block == nullptr) {
    return failedPrecondition(fmt::format(
        "the kernel for {} is not a CPU attention kernel; launch it with the "
        "function for its op and device",
        kernel.problemKey));
  }
  kernel.cpuAttention.run(device_->pool(), q, k, v, o, scale);
  return Status::ok();
}

MissOutcome kt_context::resolveMiss(const GemmProblem &problem, int64_t e) {
  MissOutcome out;
  out.failure =
      e >= 0 ? entries_[e].failure
             : notFound(fmt::format("no tuned result for {} on target '{}' in "
                                    "'{}'; use the default kernel",
                                    problem.key(), validators_.target,
                                    options_.resultsPath));
  if (!options_.fallback || fallbackCandidates_.empty()) {
    return out;
  }
  int64_t c = nearestTunedShape(problem, fallbackCandidates_, [&](int64_t i) {
    load(entries_[i]);
    return entries_[i].kernel != nullptr;
  });
  if (c >= 0) {
    out.fallback = std::make_unique<kt_kernel>(*entries_[c].kernel);
    out.fallback->problem = problem;
    out.fallback->fallback = true;
  }
  return out;
}

Status kt_context::launchGemm(const kt_kernel &kernel, const void *a,
                              const void *b, void *c, float alpha, float beta) {
  if (!device_ || kernel.blockFn == nullptr) {
    return failedPrecondition(fmt::format(
        "the kernel for {} runs on '{}', not the CPU; launch it with "
        "kt_gemm_launch_{}",
        kernel.problemKey, validators_.target, isHip() ? "hip" : "cuda"));
  }
  CpuGemmBlockFn fn = kernel.blockFn;
  int64_t gridN = kernel.gridN;
  auto *fa = static_cast<const float *>(a);
  auto *fb = static_cast<const float *>(b);
  auto *fc = static_cast<float *>(c);
  // A pool of one thread runs this on the caller without locking, so
  // single-threaded contexts launch concurrently.
  device_->pool().parallelFor(kernel.gridM * gridN, [&](int64_t i) {
    fn(fa, fb, fc, alpha, beta, i / gridN, i % gridN);
  });
  return Status::ok();
}

const char *kt_context::deviceKind() const {
  return isCuda() ? "cuda" : isHip() ? "hip" : "cpu";
}

Status kt_context::checkLaunchTarget(const kt_kernel &kernel, bool onDevice,
                                     bool attention, const char *kind) const {
  if (!onDevice) {
    return failedPrecondition(fmt::format(
        "the kernel for {} runs on '{}', not a {} device; launch it with "
        "kt_{}_launch_{}",
        kernel.problemKey, validators_.target, kind,
        kernel.isAttention ? "attention" : "gemm", deviceKind()));
  }
  if (kernel.isAttention != attention) {
    return invalidArgument(fmt::format(
        "the kernel for {} is {} kernel; launch it with kt_{}_launch_{}",
        kernel.problemKey, kernel.isAttention ? "an attention" : "a GEMM",
        kernel.isAttention ? "attention" : "gemm", kind));
  }
  return Status::ok();
}

Result<cuda::PreparedGemm> kt_context::prepareCuda(const kt_kernel &kernel,
                                                   void *stream, uint64_t a,
                                                   uint64_t b, uint64_t c,
                                                   float alpha, float beta,
                                                   uint64_t workspace) const {
  const cuda::Context *ctx = cudaContextOf(*kernels_);
  KT_RETURN_IF_ERROR(checkLaunchTarget(
      kernel, ctx != nullptr && kernel.cudaFunction != nullptr, false, "cuda"));
  cuda::GemmOperands ops;
  ops.a = a;
  ops.b = b;
  ops.c = c;
  ops.alpha = alpha;
  ops.beta = beta;
  KT_RETURN_IF_ERROR(splitScratch(kernel, cudaWorkspaceBytes(kernel),
                                  cudaSemaphoreOffset(kernel), workspace,
                                  ops.workspace, ops.semaphores));
  return cuda::prepareGemm(*ctx, kernel.cudaFunction, kernel.spec,
                           kernel.problem, ops, cudaSmCountOf(*kernels_),
                           stream);
}

Status kt_context::launchCuda(const cuda::PreparedGemm &prepared) const {
  return cuda::launchPrepared(*cudaContextOf(*kernels_), prepared);
}

Status kt_context::launchHip(const kt_kernel &kernel, void *stream, uint64_t a,
                             uint64_t b, uint64_t c, float alpha, float beta,
                             uint64_t workspace) const {
  const hip::Context *ctx = hipContextOf(*kernels_);
  KT_RETURN_IF_ERROR(checkLaunchTarget(
      kernel, ctx != nullptr && kernel.hipFunction != nullptr, false, "hip"));
  hip::GemmOperands ops;
  ops.a = a;
  ops.b = b;
  ops.c = c;
  ops.alpha = alpha;
  ops.beta = beta;
  KT_RETURN_IF_ERROR(splitScratch(kernel, hipWorkspaceBytes(kernel),
                                  hipSemaphoreOffset(kernel), workspace,
                                  ops.workspace, ops.semaphores));
  return hip::launchGemm(*ctx, kernel.hipFunction, kernel.hipSpec,
                         kernel.problem, ops, stream);
}

Status kt_context::launchHipAttention(const kt_kernel &kernel, void *stream,
                                      uint64_t q, uint64_t k, uint64_t v,
                                      uint64_t o, float scale,
                                      uint64_t workspace) const {
  const hip::Context *ctx = hipContextOf(*kernels_);
  KT_RETURN_IF_ERROR(checkLaunchTarget(
      kernel, ctx != nullptr && kernel.hipFunction != nullptr, true, "hip"));
  cuda::AttentionOperands ops = attentionOperands(q, k, v, o, scale);
  KT_RETURN_IF_ERROR(splitScratch(kernel, hipWorkspaceBytes(kernel),
                                  hipSemaphoreOffset(kernel), workspace,
                                  ops.workspace, ops.semaphores));
  return hip::launchAttention(*ctx, kernel.hipFunction, kernel.attentionSpec,
                              kernel.attention, ops, stream);
}

Result<cuda::PreparedAttention>
kt_context::prepareCudaAttention(const kt_kernel &kernel, void *stream,
                                 uint64_t q, uint64_t k, uint64_t v, uint64_t o,
                                 float scale, uint64_t workspace) const {
  const cuda::Context *ctx = cudaContextOf(*kernels_);
  KT_RETURN_IF_ERROR(checkLaunchTarget(
      kernel, ctx != nullptr && kernel.cudaFunction != nullptr, true, "cuda"));
  cuda::AttentionOperands ops = attentionOperands(q, k, v, o, scale);
  KT_RETURN_IF_ERROR(splitScratch(kernel, cudaWorkspaceBytes(kernel),
                                  cudaSemaphoreOffset(kernel), workspace,
                                  ops.workspace, ops.semaphores));
  return cuda::prepareAttention(*ctx, kernel.cudaFunction, kernel.attentionSpec,
                                kernel.attention, ops, cudaSmCountOf(*kernels_),
                                stream);
}

Status kt_context::launchCuda(const cuda::PreparedAttention &prepared) const {
  return cuda::launchPrepared(*cudaContextOf(*kernels_), prepared);
}

Status kt_context::flushMisses() {
  std::lock_guard<std::mutex> lock(flushMutex_);
  std::vector<MissLog::Pending> pending = misses_.takePending();
  std::vector<AttentionMissLog::Pending> attention =
      attentionMisses_.takePending();
  if (pending.empty() && attention.empty()) {
    return Status::ok();
  }
  // One record and one problems-file line per missed problem: GEMMs as
  // TunableOp untuned lines (ktune keys where TunableOp cannot spell
  // them), attention as its signature.
  std::vector<MissRecord> records;
  std::string lines;
  auto add = [&](const std::string &key, const std::string &line, int64_t count,
                 int64_t first, int64_t last) {
    records.push_back(MissRecord{key, validators_.target,
                                 validators_.deviceModel, count, first, last});
    lines += line + "\n";
  };
  for (const MissLog::Pending &p : pending) {
    add(p.problem.key(),
        p.problem.hasTunableOpForm()
            ? p.problem.tunableOpSig() + "," + p.problem.tunableOpParams()
            : p.problem.key(),
        p.count, p.firstUnix, p.lastUnix);
  }
  for (const AttentionMissLog::Pending &p : attention) {
    add(p.problem.key(), p.problem.key(), p.count, p.firstUnix, p.lastUnix);
  }
  if (options_.recordMisses && sqliteFile_) {
    Result<std::unique_ptr<ResultsStore>> rw =
        openSqliteStore(options_.resultsPath, /*readOnly=*/false);
    Status st = rw.isOk() ? (*rw)->putMisses(records) : rw.status();
    if (!st.isOk()) {
      misses_.restore(pending);
      attentionMisses_.restore(attention);
      return st.withContext(fmt::format(
          "recording {} missed problem(s) in '{}' (they are kept for the "
          "next try; set record_misses to 0 for read-only files)",
          records.size(), options_.resultsPath));
    }
  }
  if (!options_.missesCsvPath.empty()) {
    std::ofstream out(options_.missesCsvPath, std::ios::app | std::ios::binary);
    out << lines;
    out.flush();
    if (!out) {
      return failedPrecondition(fmt::format(
          "cannot append {} missed problem(s) to '{}'; check that its "
          "directory exists and is writable",
          records.size(), options_.missesCsvPath));
    }
  }
  return Status::ok();
}

LookupStats kt_context::stats() const {
  LookupStats s;
  s.entries = usable_;
  for (const auto &[reason, n] : skippedBy_) {
    s.skipped += n;
  }
  s.otherTargets = otherTargets_;
  for (const Counters &c : counters_) {
    s.hits += c.hits.load(std::memory_order_relaxed);
    s.fallbacks += c.fallbacks.load(std::memory_order_relaxed);
    s.misses += c.misses.load(std::memory_order_relaxed);
  }
  s.lookups = s.hits + s.fallbacks + s.misses;
  s.compiled = compiled_.load(std::memory_order_relaxed);
  s.missedProblems =
      int64_t(misses_.summary().size() + attentionMisses_.summary().size());
  return s;
}

std::string kt_context::report() const {
  LookupStats s = stats();
  std::string out = fmt::format(
      "ktune lookup report: '{}' on {} ({})\n"
      "  tuned problems: {} usable here, {} skipped, {} for other targets\n",
      options_.resultsPath, validators_.target, validators_.deviceModel,
      s.entries, s.skipped, s.otherTargets);
  if (toCompile_ > 0) {
    out += fmt::format("    {} without code objects, compiled on first use "
                       "(jit): {} compiled so far\n",
                       toCompile_, s.compiled);
  }
  for (const auto &[reason, n] : skippedBy_) {
    out += fmt::format("    skipped {}: {}\n", n, reason);
  }
  for (const std::string &e : fileErrors_) {
    out += fmt::format("    unreadable line: {}\n", e);
  }
  out += fmt::format("  lookups: {} ({} hits, {} fallbacks, {} misses)\n",
                     s.lookups, s.hits, s.fallbacks, s.misses);
  std::vector<MissLog::Summary> missed = misses_.summary();
  std::sort(missed.begin(), missed.end(),
            [](const auto &a, const auto &b) { return a.count > b.count; });
  for (const MissLog::Summary &m : missed) {
    out += fmt::format("    {} x{}: {}\n", m.problem.key(), m.count,
                       m.fellBack ? "fell back to the nearest tuned shape"
                                  : m.reason);
  }
  for (const AttentionMissLog::Summary &m : attentionMisses_.summary()) {
    out += fmt::format("    {} x{}: {}\n", m.problem.key(), m.count, m.reason);
  }
  return out;
}
