// The search loop every CPU op shares: for each family that serves a
// problem, propose unmeasured configurations, compile them on the pool,
// measure each with the op's own check-and-time function, and commit every
// result (failures included) as soon as it is known.
#pragma once

#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/Device.h"
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

/// Loads, checks and times one compiled candidate with `timing` (its
/// abandonAboveMs set from the best so far). Fills the record's status,
/// message, maxError, timing fields; returns the time (ms) of a correct
/// candidate, nullopt for a failed one. Ops write it with checkAndTime().
using MeasureFn = std::function<std::optional<double>(
    const CompiledKernel &kernel, const TimingOptions &timing,
    TuningRecord &r)>;

struct SearchContext {
  const CpuCompiler &compiler;
  ResultsStore &store;
  const TuneOptions &options;
  const Validators &validators;
  const TargetDesc &target;
};

/// The steps of measuring every op shares, once it has tried to load the
/// candidate (`loaded`): a load failure is "launch-failed"; else `check()`
/// (the op's numerics check, the worst error in tolerance units) failing is
/// "numerics-mismatch"; else `time(timing)` fills the timing fields (and the
/// message of a candidate abandoned after warm-up). The median of a correct
/// candidate, or nullopt.
std::optional<double>
checkAndTime(TuningRecord &r, const Status &loaded,
             const std::function<Result<double>()> &check,
             const std::function<Timing(const TimingOptions &)> &time,
             const TimingOptions &timing);

/// Bytes of rotating inputs: the option, or twice the last-level cache,
/// capped by maxRotateBytes.
int64_t rotatingBytes(const TuneOptions &options, const DeviceInfo &device);

/// Searches `families` for problem `key` (op `op`, `flops` per run).
Result<ProblemOutcome> searchFamilies(const SearchContext &ctx,
                                      const std::string &key,
                                      const std::string &op, double flops,
                                      const std::vector<TuneFamily> &families,
                                      const MeasureFn &measure);

} // namespace kt
