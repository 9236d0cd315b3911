// searchFamilies: the candidate loop shared by GEMM and attention tuning.
#include "FamilySearch.h"

#include "CompilePool.h"
#include "Progress.h"
#include "Search.h"

#include "ktune/device/HostInfo.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace kt {

Result<ProblemOutcome> searchFamilies(const SearchContext &ctx,
                                      const std::string &key,
                                      const std::string &op, double flops,
                                      const std::vector<TuneFamily> &families,
                                      const MeasureFn &measure) {
  using Clock = std::chrono::steady_clock;
  const TuneOptions &opt = ctx.options;
  const Validators &v = ctx.validators;
  const std::string target = ctx.target.toString();
  ProblemOutcome outcome;
  outcome.problemKey = key;
  outcome.flops = flops;
  const auto start = Clock::now();
  auto overBudget = [&] {
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    return (opt.budgetSeconds > 0 && s > opt.budgetSeconds) ||
           (opt.cancel && opt.cancel->load());
  };
  Progress progress(opt.progress, key, opt.maxCandidates);
  std::optional<double> bestMs;
  if (auto w = ctx.store.winner(key, target, v.deviceModel);
      w.isOk() && w->has_value() && checkRecord(**w, v).empty()) {
    bestMs = (*w)->timeMs;
  }
  const int jobs =
      opt.compileJobs > 0 ? opt.compileJobs : hostInfo().logicalCores;
  // The candidate budget is per problem, shared by the families.
  for (size_t f = 0; f < families.size(); ++f) {
    const TuneFamily &fam = families[f];
    const int share =
        std::max(1, (opt.maxCandidates - outcome.candidates - outcome.skipped) /
                        int(families.size() - f));
    SampleThenRefine search(fam.space, fam.initial, share, opt.seed);
    while (!overBudget()) {
      std::vector<Config> batch =
          nextUnmeasured(search, std::max(2, jobs * 2), ctx.store, key, target,
                         fam.name, outcome.skipped);
      if (batch.empty()) {
        break;
      }
      CompilePool pool(ctx.compiler, opt.compileLimits, fam.instantiate,
                       fmt::format("{}|{}|{}", fam.name, fam.hash, key), batch,
                       jobs);
      while (auto c = pool.pop(!opt.overlap)) {
        if (overBudget()) {
          continue; // Drain the pool; unmeasured candidates are not stored.
        }
        TuningRecord r;
        r.problemKey = key;
        r.op = op;
        r.target = target;
        r.templateName = fam.name;
        r.templateHash = fam.hash;
        r.params = c->config.toString();
        r.deviceModel = v.deviceModel;
        r.deviceFeatures = v.deviceFeatures;
        r.compilerFingerprint = v.compilerFingerprint;
        r.createdUnix = int64_t(std::time(nullptr));
        std::optional<double> ms;
        if (!c->kernel.isOk()) {
          r.status = "compile-failed";
          r.message = c->kernel.status().message();
        } else {
          // A candidate 3x slower than the best so far is a loser; it is
          // not given the full timing budget.
          TimingOptions timing{opt.warmup, opt.minIterations, opt.maxIterations,
                               opt.maxMsPerCandidate,
                               bestMs ? 3.0 * *bestMs : 0};
          ms = measure(*c->kernel, timing, r);
          if (ms) {
            r.binaryHash = c->kernel->hash;
          }
        }
        if (ms && (!bestMs || *ms < *bestMs)) {
          // Only binaries that become the winner are kept in the DB.
          KT_RETURN_IF_ERROR(
              ctx.store.putBinary(c->kernel->hash, target, c->kernel->bytes));
          bestMs = ms;
        }
        KT_RETURN_IF_ERROR(ctx.store.put(r));
        search.report(c->config, ms);
        ++outcome.candidates;
        outcome.failed += ms ? 0 : 1;
        progress.update(outcome.candidates,
                        bestMs ? flops / (*bestMs * 1e6) : 0);
      }
    }
  }
  progress.finish();
  KT_ASSIGN_OR_RETURN(outcome.winner,
                      ctx.store.winner(key, target, v.deviceModel));
  return outcome;
}

std::optional<double>
checkAndTime(TuningRecord &r, const Status &loaded,
             const std::function<Result<double>()> &check,
             const std::function<Timing(const TimingOptions &)> &time,
             const TimingOptions &timing) {
  if (!loaded.isOk()) {
    r.status = "launch-failed";
    r.message = loaded.message();
    return std::nullopt;
  }
  Result<double> err = check();
  if (!err.isOk()) {
    r.status = "numerics-mismatch";
    r.message = err.status().message();
    return std::nullopt;
  }
  r.maxError = *err;
  Timing t = time(timing);
  r.timeMs = t.medianMs;
  r.dispersion = t.dispersion;
  r.iterations = t.iterations;
  if (t.abandoned) {
    r.message = "timed once: its warm-up run was over 3x the best so far";
  }
  return t.medianMs;
}

int64_t rotatingBytes(const TuneOptions &options, const DeviceInfo &device) {
  int64_t bytes = options.rotateBytes > 0 ? options.rotateBytes
                                          : 2 * device.lastLevelCacheBytes;
  return std::min(bytes, options.maxRotateBytes);
}

} // namespace kt
