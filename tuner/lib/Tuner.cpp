// Tuning orchestration: candidate selection, a compile pool, rotating-buffer
// measurement, numerics checks, and committing every result as it is found.
#include "ktune/tuner/Tuner.h"

#include "FamilySearch.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {

Validators currentValidators(const CpuDevice &device,
                             const CpuCompiler &compiler) {
  return {device.target().toString(), device.info().name,
          device.target().featureString(), compiler.fingerprint()};
}

Tuner::Tuner(CpuDevice &device, CpuCompiler &compiler, ResultsStore &store,
             TuneOptions options)
    : device_(device), compiler_(compiler), store_(store), opt_(options) {}

Result<std::vector<ProblemOutcome>>
Tuner::tune(const std::vector<GemmProblem> &problems) {
  std::vector<ProblemOutcome> out;
  for (const GemmProblem &p : problems) {
    if (opt_.cancel && opt_.cancel->load()) {
      break;
    }
    KT_ASSIGN_OR_RETURN(ProblemOutcome o, tuneOne(p));
    out.push_back(std::move(o));
  }
  return out;
}

Result<ProblemOutcome> Tuner::tuneOne(const GemmProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  const TargetDesc &target = device_.target();
  const Validators v = currentValidators(device_, compiler_);
  RotatingGemmArgs args(problem, rotatingBytes(opt_, device_.info()),
                        opt_.seed);
  std::vector<TuneFamily> families;
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->supports(problem, target)) {
      families.push_back({t->name(), t->sourceHash(), t->space(problem, target),
                          t->defaultConfig(problem, target),
                          [t, &problem, &target](const Config &c) {
                            return t->instantiate(c, problem, target);
                          }});
    }
  }
  auto measure = [&](const CompiledKernel &kernel, const TimingOptions &timing,
                     TuningRecord &r) -> std::optional<double> {
    auto loaded = loadGemm(device_, kernel.bytes);
    GemmRunFn run = loaded ? loaded->runner(device_) : GemmRunFn();
    return checkAndTime(
        r, loaded.status(),
        [&] { return checkGemm(run, problem, opt_.seed + 1); },
        [&](const TimingOptions &o) { return timeGemm(run, args, o); }, timing);
  };
  KT_ASSIGN_OR_RETURN(ProblemOutcome outcome,
                      searchFamilies({compiler_, store_, opt_, v, target},
                                     problem.key(), "gemm", problem.flops(),
                                     families, measure));
  outcome.problem = problem;
  return outcome;
}

} // namespace kt
