// Tuner::tuneAttention: the CPU attention families, searched, checked and
// timed like GEMMs (see Tuner.cpp).
#include "CompilePool.h"
#include "Progress.h"
#include "Search.h"

#include "ktune/device/HostInfo.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/AttentionBench.h"
#include "ktune/tuner/GemmBench.h"
#include "ktune/tuner/Tuner.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>

namespace kt {

Result<ProblemOutcome> Tuner::tuneAttention(const AttentionProblem &problem) {
  using Clock = std::chrono::steady_clock;
  KT_RETURN_IF_ERROR(problem.validate());
  ProblemOutcome outcome;
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
  std::vector<const AttentionTemplate *> families;
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->supports(problem, target)) {
      families.push_back(t);
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
  for (size_t f = 0; f < families.size(); ++f) {
    const AttentionTemplate *tmpl = families[f];
    const int share = std::max(
        1, (opt_.maxCandidates - outcome.candidates - outcome.skipped) /
               int(families.size() - f));
    SampleThenRefine search(tmpl->space(problem, target),
                            tmpl->defaultConfig(problem, target), share,
                            opt_.seed);
    while (!overBudget()) {
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
        r.op = "attention";
        r.target = target.toString();
        r.templateName = tmpl->name();
        r.templateHash = tmpl->sourceHash();
        r.params = c->config.toString();
        r.deviceModel = v.deviceModel;
        r.deviceFeatures = v.deviceFeatures;
        r.compilerFingerprint = v.compilerFingerprint;
        r.createdUnix = int64_t(std::time(nullptr));
        std::optional<double> ms;
        if (!c->kernel.isOk()) {
          r.status = "compile-failed";
          r.message = c->kernel.status().message();
        } else if (auto l = loadAttention(device_, c->kernel->bytes); !l) {
          r.status = "launch-failed";
          r.message = l.status().message();
        } else {
          AttentionRunFn run = l->runner(device_);
          auto err = checkAttention(run, problem, opt_.seed + 1);
          if (!err) {
            r.status = "numerics-mismatch";
            r.message = err.status().message();
          } else {
            r.maxError = *err;
            TimingOptions o = topt;
            o.abandonAboveMs = bestMs ? 3.0 * *bestMs : 0;
            Timing t = timeRotating(
                [&](int i) {
                  run(args.q(i), args.k(i), args.v(i), args.o(i), scale);
                },
                args.sets(), o);
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
