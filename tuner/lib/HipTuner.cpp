#include "ktune/tuner/HipTuner.h"

#include "gpu/GpuFamilySearch.h"
#include "ktune/drivers/hip/HipBlasLt.h"
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

bool HipTuner::serves(const AttentionProblem &) const { return false; }

Validators HipTuner::validators() const {
  return {target_.toString(), gpu_.name,
          fmt::format("cus={}", gpu_.computeUnits), fingerprint_};
}

Result<ProblemOutcome>
HipTuner::tuneAttention(const AttentionProblem &problem) {
  return unimplemented(fmt::format(
      "{}: attention is not tuned on HIP devices yet (the hip.attention "
      "families compile, see ktune compile, but have no launch path)",
      problem.key()));
}

Result<ProblemOutcome> HipTuner::tuneOne(const GemmProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  KT_ASSIGN_OR_RETURN(
      HipCompiler compiler,
      HipCompiler::create(target_, opt_.worker.cacheDir, opt_.frontend));
  // The reference kernels, compiled once per problem for the worker.
  KT_ASSIGN_OR_RETURN(
      HipKernelBinary reference,
      compiler.compile({"hip", hipReferenceSource(), "kt_check", ""},
                       "ktune-hip-reference"));
  ProblemOutcome outcome;
  outcome.problem = problem;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  std::vector<GpuFamily> families;
  for (const GemmTemplate *t : gemmTemplates()) {
    if (!t->supports(problem, target_)) {
      continue;
    }
    families.push_back({t->name(), t->sourceHash(), t->space(problem, target_),
                        t->defaultConfig(problem, target_),
                        [t, problem, this](const Config &c) {
                          return t->instantiate(c, problem, target_);
                        },
                        true});
  }
  int vendorBudget = 0;
  if (!families.empty() && opt_.vendorAlgorithms > 0 &&
      hip::HipBlasLt::get().isOk()) {
    GpuFamily vendor{kHipBlasLtFamily, "", {}, {{"algo", 0}}, nullptr, false};
    for (int i = 0; i < opt_.vendorAlgorithms; ++i) {
      vendor.space.push_back({{"algo", i}});
    }
    families.push_back(std::move(vendor));
    vendorBudget = opt_.vendorAlgorithms;
  }
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
  search.compile =
      [&compiler](const KernelSource &src,
                  const std::string &identity) -> Result<std::string> {
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
  return searchGpuFamilies(search, std::move(outcome), "gemm", families,
                           vendorBudget);
}

} // namespace kt
