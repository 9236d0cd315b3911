// Tuning orchestration: candidate selection, a compile pool, rotating-buffer
// measurement, numerics checks, and committing every result as it is found.
#include "ktune/tuner/Tuner.h"

#include "CompilePool.h"
#include "Progress.h"
#include "Search.h"
#include "ktune/device/HostInfo.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

namespace kt {
namespace {

using Clock = std::chrono::steady_clock;

} // namespace

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
  ProblemOutcome outcome;
  outcome.problem = problem;
  outcome.problemKey = problem.key();
  outcome.flops = problem.flops();
  const TargetDesc &target = device_.target();
  const Validators v = currentValidators(device_, compiler_);
  const auto start = Clock::now();
  auto overBudget = [&] {
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    return (opt_.budgetSeconds > 0 && s > opt_.budgetSeconds) ||
           (opt_.cancel && opt_.cancel->load());
  };
  int64_t rotate = opt_.rotateBytes > 0
                       ? opt_.rotateBytes
                       : 2 * device_.info().lastLevelCacheBytes;
  rotate = std::min(rotate, opt_.maxRotateBytes);
  RotatingGemmArgs args(problem, rotate, opt_.seed);
  TimingOptions topt{opt_.warmup, opt_.minIterations, opt_.maxIterations,
                     opt_.maxMsPerCandidate};
  Progress progress(opt_.progress, problem.key(), opt_.maxCandidates);
  std::optional<double> bestMs;
  if (auto w = store_.winner(problem.key(), target.toString(), v.deviceModel);
      w.isOk() && w->has_value() && checkRecord(**w, v).empty()) {
    bestMs = (*w)->timeMs;
  }
  const int jobs =
      opt_.compileJobs > 0 ? opt_.compileJobs : hostInfo().logicalCores;

  // The candidate budget is per problem, shared by the families that serve
  // it.
  std::vector<const GemmTemplate *> families;
  for (const GemmTemplate *tmpl : gemmTemplates()) {
    if (tmpl->supports(problem, target)) {
      families.push_back(tmpl);
    }
  }
  for (size_t f = 0; f < families.size(); ++f) {
    const GemmTemplate *tmpl = families[f];
    const int share = std::max(
        1, (opt_.maxCandidates - outcome.candidates - outcome.skipped) /
               int(families.size() - f));
    SampleThenRefine search(tmpl->space(problem, target),
                            tmpl->defaultConfig(problem, target), share,
                            opt_.seed);
    for (;;) {
      if (overBudget()) {
        break;
      }
      std::vector<Config> batch =
          nextUnmeasured(search, std::max(2, jobs * 2), store_, problem.key(),
                         target.toString(), tmpl->name(), outcome.skipped);
      if (batch.empty()) {
        break;
      }
      CompilePool pool(
          compiler_, opt_.compileLimits,
          [&](const Config &c) {
            return tmpl->instantiate(c, problem, target);
          },
          fmt::format("{}|{}|{}", tmpl->name(), tmpl->sourceHash(),
                      problem.key()),
          batch, jobs);
      while (auto c = pool.pop(!opt_.overlap)) {
        if (overBudget()) {
          continue; // Drain the pool; unmeasured candidates are not stored.
        }
        TuningRecord r;
        r.problemKey = problem.key();
        r.op = "gemm";
        r.target = target.toString();
        r.templateName = tmpl->name();
        r.templateHash = tmpl->sourceHash();
        r.params = c->config.toString();
        r.deviceModel = v.deviceModel;
        r.deviceFeatures = v.deviceFeatures;
        r.compilerFingerprint = v.compilerFingerprint;
        r.createdUnix = int64_t(std::time(nullptr));
        std::optional<double> ms;
        std::optional<LoadedGemm> loaded;
        if (!c->kernel.isOk()) {
          r.status = "compile-failed";
          r.message = c->kernel.status().message();
        } else if (auto l = loadGemm(device_, c->kernel->bytes); !l) {
          r.status = "launch-failed";
          r.message = l.status().message();
        } else {
          loaded = std::move(l).value();
          GemmRunFn run = loaded->runner(device_);
          auto err = checkGemm(run, problem, opt_.seed + 1);
          if (!err) {
            r.status = "numerics-mismatch";
            r.message = err.status().message();
          } else {
            r.maxError = *err;
            // A candidate 3x slower than the best so far is a loser;
            // do not spend the full timing budget on it.
            TimingOptions o = topt;
            o.abandonAboveMs = bestMs ? 3.0 * *bestMs : 0;
            Timing t = timeGemm(run, args, o);
            r.timeMs = t.medianMs;
            r.dispersion = t.dispersion;
            r.iterations = t.iterations;
            if (t.abandoned) {
              r.message = "timed once: its warm-up run was over 3x the best "
                          "so far";
            }
            r.binaryHash = c->kernel->hash;
            ms = t.medianMs;
          }
        }
        if (ms && (!bestMs || *ms < *bestMs)) {
          // Only binaries that become the winner are kept in the DB.
          KT_RETURN_IF_ERROR(
              store_.putBinary(c->kernel->hash, r.target, c->kernel->bytes));
          bestMs = ms;
        }
        KT_RETURN_IF_ERROR(store_.put(r));
        search.report(c->config, ms);
        ++outcome.candidates;
        outcome.failed += ms ? 0 : 1;
        progress.update(outcome.candidates,
                        bestMs ? problem.flops() / (*bestMs * 1e6) : 0);
      }
    }
  }
  progress.finish();
  KT_ASSIGN_OR_RETURN(
      outcome.winner,
      store_.winner(problem.key(), target.toString(), v.deviceModel));
  return outcome;
}

} // namespace kt
