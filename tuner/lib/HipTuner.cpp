#include "ktune/tuner/HipTuner.h"

#include "gpu/GpuFamilySearch.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/HipGemmBench.h"

#include <fmt/format.h>

#include <fstream>

namespace kt {

Result<std::string> hipToolchainFingerprint(const TargetDesc &target,
                                            HipFrontend frontend) {
  KT_ASSIGN_OR_RETURN(HipCompiler compiler,
                      HipCompiler::create(target, "", frontend));
  std::string fp = compiler.fingerprint();
  if (auto lt = hip::HipBlasLt::get()) {
    fp += ";" + (*lt)->version();
  }
  return fp;
}

HipTuner::HipTuner(hip::DeviceInfo gpu, std::string toolchain,
                   ResultsStore &store, HipTuneOptions options)
    : gpu_(std::move(gpu)), fingerprint_(std::move(toolchain)), store_(store),
      opt_(std::move(options)) {
  target_.kind = TargetKind::Hip;
  target_.arch = gpu_.arch;
  opt_.worker.device = gpu_.ordinal;
}

bool HipTuner::serves(const GemmProblem &p) const {
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->supports(p, target_)) {
      return true;
    }
  }
  return false;
}

bool HipTuner::serves(const AttentionProblem &p) const {
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->supports(p, target_)) {
      return true;
    }
  }
  return false;
}

Validators HipTuner::validators() const {
  return {target_.toString(), gpu_.name,
          fmt::format("cus={}", gpu_.computeUnits), fingerprint_};
}

namespace {

/// Every HIP family is compiled in the tuner's process.
std::optional<bool> compiledHere(const Result<KernelSource> &) { return true; }

} // namespace

Result<ProblemOutcome> HipTuner::tuneOne(const GemmProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problem = problem;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  std::vector<GpuFamily> families =
      servingFamilies(gemmTemplates(), problem, target_, compiledHere);
  int vendorBudget = 0;
  if (!families.empty() && opt_.vendorAlgorithms > 0 &&
      hip::HipBlasLt::get().isOk()) {
    families.push_back(vendorFamily(kHipBlasLtFamily, opt_.vendorAlgorithms));
    vendorBudget = opt_.vendorAlgorithms;
  }
  return run(std::move(outcome), "gemm", families, vendorBudget);
}

Result<ProblemOutcome>
HipTuner::tuneAttention(const AttentionProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  return run(
      std::move(outcome), "attention",
      servingFamilies(attentionTemplates(), problem, target_, compiledHere), 0);
}

Result<ProblemOutcome> HipTuner::run(ProblemOutcome outcome, const char *op,
                                     const std::vector<GpuFamily> &families,
                                     int vendorBudget) {
  KT_ASSIGN_OR_RETURN(
      HipCompiler compiler,
      HipCompiler::create(target_, opt_.worker.cacheDir, opt_.frontend));
  compiler.setClangTimeout(opt_.compileTimeoutSeconds);
  // The reference kernels, compiled once per problem for the worker.
  KT_ASSIGN_OR_RETURN(
      HipKernelBinary reference,
      compiler.compile({"hip", hipReferenceSource(), "kt_check", ""},
                       "ktune-hip-reference"));
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
  search.vendorFamily = kHipBlasLtFamily;
  // Candidates compile in a compile worker where there is one (with the
  // front end chosen here), else in this process.
  search.compile =
      [this, &compiler](const KernelSource &src,
                        const std::string &identity) -> Result<std::string> {
    if (!opt_.compileLimits.worker.empty()) {
      return compileGpuLimited(target_, hipFrontendName(compiler.frontend()),
                               opt_.worker.cacheDir, src, identity,
                               opt_.compileLimits);
    }
    KT_ASSIGN_OR_RETURN(HipKernelBinary bin, compiler.compile(src, identity));
    return bin.codeObject;
  };
  search.stage = [&reference](const std::string &dir) -> Status {
    std::ofstream out(dir + "/" + kHipReferenceBinary, std::ios::binary);
    out.write(reference.codeObject.data(),
              std::streamsize(reference.codeObject.size()));
    return out ? Status::ok()
               : internalError("cannot write the reference kernels under " +
                               dir);
  };
  return searchGpuFamilies(search, std::move(outcome), op, families,
                           vendorBudget);
}

} // namespace kt
