// Tuner: search a template space for the fastest correct kernel per
// problem, measuring with rotating buffers and recording every result.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/tuner/CompileWorker.h"
#include "ktune/tuner/ProblemOutcome.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kt {

struct TuneOptions {
  int compileJobs = 0;      ///< Compile threads; <= 0: one per core.
  int maxCandidates = 24;   ///< Per problem, shared by its families.
  double budgetSeconds = 0; ///< Per problem wall-clock cap; 0 = none.
  int64_t rotateBytes = 0;  ///< Rotating-set total; 0: 2x last-level cache.
  int64_t maxRotateBytes = int64_t(1) << 30; ///< Cap on the rotating sets.
  int warmup = 2;
  int minIterations = 5;
  int maxIterations = 200;
  double maxMsPerCandidate = 400; ///< Measurement time cap.
  bool overlap = false; ///< Compile while measuring (noisier on few cores).
  /// Where and under which limits candidates compile (CompileWorker.h); the
  /// CLI runs each compile in a worker process with a timeout.
  CompileLimits compileLimits;
  uint64_t seed = 42;
  bool progress = true; ///< Progress bar with ETA on a terminal (stderr).
  std::atomic<bool> *cancel = nullptr; ///< Set by a SIGINT handler.
};

/// Thread-compatible: one tune() at a time.
class Tuner {
public:
  Tuner(CpuDevice &device, CpuCompiler &compiler, ResultsStore &store,
        TuneOptions options);
  /// Tunes each problem; every measurement is committed as soon as it is
  /// known. Errors of single candidates are data (failed records), not a
  /// returned error.
  Result<std::vector<ProblemOutcome>>
  tune(const std::vector<GemmProblem> &problems);
  /// Tunes one problem.
  Result<ProblemOutcome> tuneOne(const GemmProblem &problem);
  /// Tunes one attention problem (the CPU attention families), the same
  /// way: rotating inputs, a numerics check against the OpenBLAS-based
  /// reference, every candidate committed as it is measured.
  Result<ProblemOutcome> tuneAttention(const AttentionProblem &problem);

private:
  CpuDevice &device_;
  CpuCompiler &compiler_;
  ResultsStore &store_;
  TuneOptions opt_;
};

/// The validators a result recorded here carries (device, features,
/// compiler fingerprint), for checking stored entries.
Validators currentValidators(const CpuDevice &device,
                             const CpuCompiler &compiler);

} // namespace kt
