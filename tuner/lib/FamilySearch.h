// The search loop every CPU op shares: for each family that serves a
// problem, propose unmeasured configurations, compile them on the pool,
// measure each with the op's own check-and-time function, and commit every
// result (failures included) as soon as it is known.
#pragma once

#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/problem/Config.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/GemmBench.h"
#include "ktune/tuner/ProblemOutcome.h"
#include "ktune/tuner/Tuner.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kt {

/// One family as the search sees it.
struct TuneFamily {
  std::string name, hash;
  std::vector<Config> space;
  Config initial;
  std::function<Result<KernelSource>(const Config &)> instantiate;
};

/// Loads, checks and times one compiled candidate. Fills the record's
/// status, message, maxError, timing fields; returns the time (ms) of a
/// correct candidate, nullopt for a failed one. `abandonAboveMs` > 0 allows
/// stopping after warm-up (TimingOptions::abandonAboveMs).
using MeasureFn = std::function<std::optional<double>(
    const CompiledKernel &kernel, double abandonAboveMs, TuningRecord &r)>;

struct SearchContext {
  const CpuCompiler &compiler;
  ResultsStore &store;
  const TuneOptions &options;
  const Validators &validators;
  const TargetDesc &target;
};

/// Fills a record's timing fields (and the message of an abandoned
/// candidate) from `t`; returns the median.
double recordTiming(const Timing &t, TuningRecord &r);

/// Searches `families` for problem `key` (op `op`, `flops` per run).
Result<ProblemOutcome> searchFamilies(const SearchContext &ctx,
                                      const std::string &key,
                                      const std::string &op, double flops,
                                      const std::vector<TuneFamily> &families,
                                      const MeasureFn &measure);

} // namespace kt
