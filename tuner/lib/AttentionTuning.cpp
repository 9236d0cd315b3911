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
        "no attention family serves {} on {} (the CPU family takes f32 and "
        "bf16)",
        problem.key(), target.toString()));
  }
  RotatingAttentionArgs args(problem, rotatingBytes(opt_, device_.info()),
                             opt_.seed);
  const float scale = 1.0f / std::sqrt(float(problem.d));
  auto measure = [&](const CompiledKernel &kernel, const TimingOptions &timing,
                     TuningRecord &r) -> std::optional<double> {
    auto loaded = loadAttention(device_, kernel.bytes);
    AttentionRunFn run = loaded ? loaded->runner(device_) : AttentionRunFn();
    return checkAndTime(
        r, loaded.status(),
        [&] {
          // The family's rounding of P for this configuration.
          double pRounding = 0;
          auto t = findAttentionTemplate(r.templateName);
          auto c = parseConfig(r.params);
          if (t.isOk() && c.isOk()) {
            pRounding = (*t)->probabilityRounding(*c);
          }
          return checkAttention(run, problem, opt_.seed + 1, pRounding);
        },
        [&](const TimingOptions &o) {
          return timeRotating(
              [&](int i) {
                run(args.q(i), args.k(i), args.v(i), args.o(i), scale);
              },
              args.sets(), o);
        },
        timing);
  };
  return searchFamilies({compiler_, store_, opt_, v, target}, problem.key(),
                        "attention", problem.flops(), families, measure);
}

} // namespace kt
