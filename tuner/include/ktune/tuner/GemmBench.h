// Rotating-buffer cold-cache timing and the OpenBLAS numerics check for CPU
// GEMM kernels.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/GemmProblem.h"

#include <functional>
#include <memory>
#include <vector>

namespace kt {

/// Runs C = alpha*op(A)*op(B) + beta*C for the bound problem.
using GemmRunFn = std::function<void(const float *a, const float *b, float *c,
                                     float alpha, float beta)>;

struct TimingOptions {
  int warmup = 2;
  int minIterations = 5;
  int maxIterations = 200;
  double maxMs = 400;
  /// A candidate whose last warm-up run takes longer than this (ms) is
  /// not timed further: it cannot win. 0 = never abandon.
  double abandonAboveMs = 0;
};

struct Timing {
  double medianMs = 0;
  double dispersion = 0; ///< (p75 - p25) / median.
  int iterations = 0;
  bool abandoned = false; ///< Stopped after warm-up (TimingOptions).
};

/// Argument sets for one problem whose total size exceeds `bytes` (at least
/// two sets), filled with seeded uniform data in [-1, 1]. Each timed
/// iteration uses the next set, so operands come from memory, not cache.
class RotatingGemmArgs {
public:
  RotatingGemmArgs(const GemmProblem &p, int64_t bytes, uint64_t seed);
  int sets() const { return int(a_.size()); }
  const float *a(int i) const { return a_[i].data(); }
  const float *b(int i) const { return b_[i].data(); }
  float *c(int i) { return c_[i].data(); }
  int64_t totalBytes() const { return total_; }

private:
  std::vector<std::vector<float>> a_, b_, c_;
  int64_t total_ = 0;
};

/// Cold timing: warm-up, then iterations over the rotating sets until the
/// iteration or time cap.
Timing timeGemm(const GemmRunFn &run, RotatingGemmArgs &args,
                const TimingOptions &opt);
/// The same for any op: `run(set)` runs once on argument set `set` of
/// `sets` (taken in turn).
Timing timeRotating(const std::function<void(int set)> &run, int sets,
                    const TimingOptions &opt);

/// Checks `run` against OpenBLAS on seeded data, twice: beta = 0 with C
/// poisoned with NaN (catches unwritten outputs and reads of C), and
/// beta = 0.5 (checks the epilogue). Returns the worst error in units of the
/// tolerance (<= 1 passes) or an error saying what differed.
Result<double> checkGemm(const GemmRunFn &run, const GemmProblem &p,
                         uint64_t seed);

/// OpenBLAS sgemm for the problem (the reference and the benchmark's
/// baseline).
void referenceGemm(const GemmProblem &p, const float *a, const float *b,
                   float *c, float alpha, float beta);

/// Allocated matrix sizes in elements.
int64_t gemmElemsA(const GemmProblem &p);
int64_t gemmElemsB(const GemmProblem &p);
int64_t gemmElemsC(const GemmProblem &p);

} // namespace kt
