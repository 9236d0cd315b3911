#include "ktune/tuner/CudaTuner.h"

#include "gpu/GpuFamilySearch.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CublasLt.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/templates/GemmTemplate.h"

#include <fmt/format.h>

#include <optional>

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

bool CudaTuner::serves(const AttentionProblem &p) const {
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->supports(p, target_)) {
      return true;
    }
  }
  return false;
}

std::function<std::optional<bool>(const Result<KernelSource> &)>
CudaTuner::placement() const {
  // MLIR families are compiled here (the worker links no MLIR), and only
  // with an MLIR compiler in this process; CUDA C++ ones in the worker.
  const bool haveMlir = bool(opt_.mlir.toPtx);
  return [haveMlir](const Result<KernelSource> &probe) -> std::optional<bool> {
    const bool isMlir = probe.isOk() && probe->language == "mlir";
    if (isMlir && !haveMlir) {
      return std::nullopt;
    }
    return isMlir;
  };
}

Result<ProblemOutcome> CudaTuner::tuneOne(const GemmProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problem = problem;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  std::vector<GpuFamily> families =
      servingFamilies(gemmTemplates(), problem, target_, placement());
  int vendorBudget = 0;
  if (!families.empty() && opt_.vendorAlgorithms > 0 &&
      cuda::CublasLt::get().isOk() &&
      (problem.dtype == DType::BF16 || problem.dtype == DType::F16)) {
    families.push_back(vendorFamily(kCublasLtFamily, opt_.vendorAlgorithms));
    vendorBudget = opt_.vendorAlgorithms;
  }
  return run(std::move(outcome), "gemm", families, vendorBudget);
}

Result<ProblemOutcome>
CudaTuner::tuneAttention(const AttentionProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  return run(
      std::move(outcome), "attention",
      servingFamilies(attentionTemplates(), problem, target_, placement()), 0);
}

Result<ProblemOutcome> CudaTuner::run(ProblemOutcome outcome, const char *op,
                                      const std::vector<GpuFamily> &families,
                                      int vendorBudget) {
  GpuSearch search;
  search.store = &store_;
  search.validators = validators();
  search.maxCandidates = opt_.maxCandidates;
  search.batch = opt_.batch;
  search.seed = opt_.seed;
  search.progress = opt_.progress;
  search.budgetSeconds = opt_.budgetSeconds;
  search.cancel = opt_.cancel;
  search.worker = opt_.worker;
  search.vendorFamily = kCublasLtFamily;
  // MLIR families: compiled here (the worker links no MLIR), as cubins:
  // in a compile worker where there is one, else in this process with a
  // compiler made at the first candidate that needs it.
  std::optional<CudaCompiler> compiler;
  search.compile =
      [this, &compiler](const KernelSource &src,
                        const std::string &identity) -> Result<std::string> {
    if (!opt_.compileLimits.worker.empty()) {
      return compileGpuLimited(target_, "", opt_.worker.cacheDir, src, identity,
                               opt_.compileLimits);
    }
    if (!compiler) {
      KT_ASSIGN_OR_RETURN(
          CudaCompiler made,
          CudaCompiler::create(target_, opt_.worker.cacheDir, opt_.mlir));
      compiler.emplace(std::move(made));
    }
    KT_ASSIGN_OR_RETURN(CudaKernelBinary bin, compiler->compile(src, identity));
    return bin.cubin;
  };
  return searchGpuFamilies(search, std::move(outcome), op, families,
                           vendorBudget);
}

} // namespace kt
