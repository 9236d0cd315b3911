#include "ktune/tuner/CudaTuner.h"

#include "Progress.h"
#include "Search.h"
#include "ktune/base/ScratchDir.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CublasLt.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/templates/GemmTemplate.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <fstream>

namespace kt {

Result<std::string> cudaToolchainFingerprint(const TargetDesc &target) {
  KT_ASSIGN_OR_RETURN(CudaCompiler compiler, CudaCompiler::create(target, ""));
  std::string fp = compiler.fingerprint();
  if (auto lt = cuda::CublasLt::get()) {
    fp += ";" + (*lt)->version();
  }
  return fp;
}

CudaTuner::CudaTuner(cuda::DeviceInfo gpu, std::string toolchain,
                     ResultsStore &store, CudaTuneOptions options)
    : gpu_(std::move(gpu)), fingerprint_(std::move(toolchain)), store_(store),
      opt_(std::move(options)) {
  target_.kind = TargetKind::Cuda;
  target_.arch = gpu_.arch();
  opt_.worker.device = gpu_.ordinal;
}

bool CudaTuner::serves(const GemmProblem &p) const {
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->supports(p, target_)) {
      return true;
    }
  }
  return false;
}

Validators CudaTuner::validators() const {
  return {target_.toString(), gpu_.name, fmt::format("sms={}", gpu_.smCount),
          fingerprint_};
}

Result<std::vector<Config>> CudaTuner::precompile(
    const CudaFamily &family, const std::string &problemKey,
    const std::vector<Config> &batch, const std::string &dir,
    const std::function<Status(const GpuCandidateResult &)> &onResult) {
  if (dir.empty()) {
    return internalError("no scratch folder for prebuilt cubins");
  }
  KT_ASSIGN_OR_RETURN(
      CudaCompiler compiler,
      CudaCompiler::create(target_, opt_.worker.cacheDir, opt_.mlir));
  std::vector<Config> ready;
  for (const Config &c : batch) {
    auto src = family.instantiate(c);
    Result<CudaKernelBinary> bin =
        src ? compiler.compile(*src, family.name + "|" + family.hash + "|" +
                                         problemKey + "|" + c.toString())
            : Result<CudaKernelBinary>(src.status());
    if (!bin) {
      GpuCandidateResult r;
      r.config = c;
      r.status = "compile-failed";
      r.message = bin.status().message();
      KT_RETURN_IF_ERROR(onResult(r));
      continue;
    }
    std::ofstream out(dir + "/" + prebuiltBinaryName(c), std::ios::binary);
    out.write(bin->cubin.data(), std::streamsize(bin->cubin.size()));
    if (!out) {
      return internalError("cannot write a prebuilt cubin under " + dir);
    }
    ready.push_back(c);
  }
  return ready;
}

bool CudaTuner::serves(const AttentionProblem &p) const {
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->supports(p, target_)) {
      return true;
    }
  }
  return false;
}

template <typename Template, typename Problem>
std::vector<CudaTuner::CudaFamily>
CudaTuner::familiesFor(const std::vector<const Template *> &all,
                       const Problem &problem) const {
  std::vector<CudaFamily> families;
  for (const Template *t : all) {
    if (!t->supports(problem, target_)) {
      continue;
    }
    Config initial = t->defaultConfig(problem, target_);
    auto probe = t->instantiate(initial, problem, target_);
    const bool isMlir = probe.isOk() && probe->language == "mlir";
    if (isMlir && !opt_.mlir.toPtx) {
      continue; // No MLIR compiler in this process.
    }
    families.push_back({t->name(), t->sourceHash(), t->space(problem, target_),
                        initial,
                        [t, problem, this](const Config &c) {
                          return t->instantiate(c, problem, target_);
                        },
                        isMlir});
  }
  return families;
}

Result<ProblemOutcome> CudaTuner::tuneOne(const GemmProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problem = problem;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  std::vector<CudaFamily> families = familiesFor(gemmTemplates(), problem);
  int vendorBudget = 0;
  if (!families.empty() && opt_.vendorAlgorithms > 0 &&
      cuda::CublasLt::get().isOk() &&
      (problem.dtype == DType::BF16 || problem.dtype == DType::F16)) {
    CudaFamily vendor{kCublasLtFamily, "", {}, {{"algo", 0}}, nullptr, false};
    for (int i = 0; i < opt_.vendorAlgorithms; ++i) {
      vendor.space.push_back({{"algo", i}});
    }
    families.push_back(std::move(vendor));
    vendorBudget = opt_.vendorAlgorithms;
  }
  return tuneFamilies(std::move(outcome), "gemm", families, vendorBudget);
}

Result<ProblemOutcome>
CudaTuner::tuneAttention(const AttentionProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  std::vector<CudaFamily> families = familiesFor(attentionTemplates(), problem);
  return tuneFamilies(std::move(outcome), "attention", families, 0);
}

Result<ProblemOutcome>
CudaTuner::tuneFamilies(ProblemOutcome outcome, const char *op,
                        const std::vector<CudaFamily> &families,
                        int vendorBudget) {
  const std::string key = outcome.problemKey;
  const Validators v = validators();
  if (families.empty()) {
    return invalidArgument(
        fmt::format("no CUDA family serves {} on {}", key, v.target));
  }
  const auto start = std::chrono::steady_clock::now();
  auto overBudget = [&] {
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return (opt_.budgetSeconds > 0 && s > opt_.budgetSeconds) ||
           (opt_.cancel && opt_.cancel->load());
  };
  std::optional<double> bestMs;
  if (auto w = store_.winner(key, v.target, v.deviceModel);
      w.isOk() && w->has_value() && checkRecord(**w, v).empty()) {
    bestMs = (*w)->timeMs;
  }
  Progress progress(opt_.progress, key, opt_.maxCandidates + vendorBudget);
  for (size_t f = 0; f < families.size(); ++f) {
    const CudaFamily &fam = families[f];
    const bool isVendor = fam.name == kCublasLtFamily;
    // ktune's own families share maxCandidates; the vendor pass has its own.
    const int ownLeft =
        opt_.maxCandidates - outcome.candidates - outcome.skipped;
    const int ownFamiliesLeft = int(families.size() - f) - (vendorBudget > 0);
    const int share = isVendor
                          ? vendorBudget
                          : std::max(1, ownLeft / std::max(1, ownFamiliesLeft));
    SampleThenRefine search(fam.space, fam.initial, share, opt_.seed);
    while (!overBudget()) {
      std::vector<Config> batch =
          nextUnmeasured(search, std::max(1, opt_.batch), store_, key, v.target,
                         fam.name, outcome.skipped);
      if (batch.empty()) {
        break;
      }
      auto onResult = [&](const GpuCandidateResult &c) -> Status {
        TuningRecord r;
        r.problemKey = key;
        r.op = op;
        r.target = v.target;
        r.templateName = fam.name;
        r.templateHash = fam.hash;
        r.params = c.config.toString();
        r.status = c.status;
        r.message = c.message;
        r.deviceModel = v.deviceModel;
        r.deviceFeatures = v.deviceFeatures;
        r.compilerFingerprint = v.compilerFingerprint;
        r.createdUnix = int64_t(std::time(nullptr));
        std::optional<double> ms;
        if (c.status == "ok") {
          r.timeMs = c.ms;
          r.dispersion = c.dispersion;
          r.iterations = c.iterations;
          r.maxError = c.maxError;
          r.binaryHash = c.binaryHash;
          // How to launch the stored cubin (kt.h reads it in deployment).
          if (fam.instantiate) {
            auto src = fam.instantiate(c.config);
            r.launch = src.isOk() ? src->launch : "";
          }
          ms = c.ms;
          if (!bestMs || c.ms < *bestMs) {
            // Winners keep their cubin in the DB for deployment.
            KT_RETURN_IF_ERROR(
                store_.putBinary(c.binaryHash, r.target, c.binary));
            bestMs = c.ms;
          }
        }
        KT_RETURN_IF_ERROR(store_.put(r));
        search.report(c.config, ms);
        ++outcome.candidates;
        outcome.failed += ms ? 0 : 1;
        progress.update(outcome.candidates,
                        bestMs ? outcome.flops / (*bestMs * 1e6) : 0);
        if (overBudget()) {
          return failedPrecondition("budget");
        }
        return Status::ok();
      };
      GpuWorkerOptions worker = opt_.worker;
      ScratchDir prebuilt("ktune-prebuilt");
      auto isBudget = [](const Status &st) {
        return st.code() == StatusCode::FailedPrecondition &&
               st.message() == "budget";
      };
      if (fam.mlir) {
        auto ready =
            precompile(fam, key, batch, prebuilt.path.string(), onResult);
        if (!ready && !isBudget(ready.status())) {
          progress.finish();
          return ready.status();
        }
        batch = ready ? *ready : std::vector<Config>{};
        worker.prebuiltDir = prebuilt.path.string();
        if (batch.empty()) {
          continue;
        }
      }
      auto dev = measureInWorker(worker, key, fam.name, batch,
                                 bestMs.value_or(0), onResult);
      if (!dev && !isBudget(dev.status())) {
        progress.finish();
        return dev.status();
      }
    }
  }
  progress.finish();
  KT_ASSIGN_OR_RETURN(outcome.winner,
                      store_.winner(key, v.target, v.deviceModel));
  return outcome;
}

} // namespace kt
