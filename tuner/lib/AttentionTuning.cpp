// Tuner::tuneAttention: the CPU attention families, searched, checked and
// timed like GEMMs (see Tuner.cpp).
#include "FamilySearch.h"

#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/GemmBench.h"
#include "ktune/tuner/Tuner.h"

#include <fmt/format.h>

#include <cmath>

namespace kt {

Result<ProblemOutcome> Tuner::tuneAttention(const AttentionProblem &problem) {
  KT_RETURN_IF_ERROR(problem.validate());
  const TargetDesc &target = device_.target();
  const Validators v = currentValidators(device_, compiler_);
  std::vector<TuneFamily> families;
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->supports(problem, target)) {
      families.push_back({t->name(), t->sourceHash(), t->space(problem, target),
                          t->defaultConfig(problem, target),
                          [t, &problem, &target](const Config &c) {
                            return t->instantiate(c, problem, target);
                          }});
    }
  }
  if (families.empty()) {
    return invalidArgument(fmt::format(
        "no attention family serves {} on {} (the CPU family takes f32)",
        problem.key(), target.toString()));
  }
  int64_t rotate = opt_.rotateBytes > 0
                       ? opt_.rotateBytes
                       : 2 * device_.info().lastLevelCacheBytes;
  rotate = std::min(rotate, opt_.maxRotateBytes);
  RotatingAttentionArgs args(problem, rotate, opt_.seed);
  const float scale = 1.0f / std::sqrt(float(problem.d));
  auto measure = [&](const CompiledKernel &kernel, double abandonAboveMs,
                     TuningRecord &r) -> std::optional<double> {
    auto loaded = loadAttention(device_, kernel.bytes);
    if (!loaded) {
      r.status = "launch-failed";
      r.message = loaded.status().message();
      return std::nullopt;
    }
    AttentionRunFn run = loaded->runner(device_);
    auto err = checkAttention(run, problem, opt_.seed + 1);
    if (!err) {
      r.status = "numerics-mismatch";
      r.message = err.status().message();
      return std::nullopt;
    }
    r.maxError = *err;
    TimingOptions o{opt_.warmup, opt_.minIterations, opt_.maxIterations,
                    opt_.maxMsPerCandidate, abandonAboveMs};
    return recordTiming(timeRotating(
                            [&](int i) {
                              run(args.q(i), args.k(i), args.v(i), args.o(i),
                                  scale);
                            },
                            args.sets(), o),
                        r);
  };
  return searchFamilies({compiler_, store_, opt_, v, target}, problem.key(),
                        "attention", problem.flops(), families, measure);
}

} // namespace kt
