// CudaTuner: tunes GEMM problems on one NVIDIA GPU. Candidates are compiled,
// checked and timed in ktune-cuda-worker processes (CudaWorker.h), so a
// faulting or hanging kernel is one failed record; every result is committed
// to the store as soon as it is known.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/tuner/CudaWorker.h"
#include "ktune/tuner/Tuner.h"

#include <atomic>
#include <string>

namespace kt {

struct CudaTuneOptions {
  int maxCandidates = 24;   ///< Per problem, shared by its families.
  double budgetSeconds = 0; ///< Per problem wall-clock cap; 0 = none.
  int batch = 8;            ///< Candidates per worker run.
  CudaWorkerOptions worker; ///< worker.device selects the GPU.
  uint64_t seed = 42;
  bool progress = true;
  std::atomic<bool> *cancel = nullptr;
};

/// Thread-compatible: one tuneOne() at a time.
class CudaTuner {
public:
  /// `compilerFingerprint`: CudaCompiler's for the GPU's arch.
  CudaTuner(cuda::DeviceInfo gpu, std::string compilerFingerprint,
            ResultsStore &store, CudaTuneOptions options);
  /// cuda:<arch> of the GPU, e.g. cuda:sm_90a.
  const TargetDesc &target() const { return target_; }
  /// True if some CUDA family serves the problem on this GPU.
  bool serves(const GemmProblem &problem) const;
  /// The validators its records carry: GPU name, SM count, NVRTC
  /// fingerprint.
  Validators validators() const;
  Result<ProblemOutcome> tuneOne(const GemmProblem &problem);

private:
  cuda::DeviceInfo gpu_;
  TargetDesc target_;
  std::string fingerprint_;
  ResultsStore &store_;
  CudaTuneOptions opt_;
};

} // namespace kt
