// CudaTuner: tunes GEMM problems on one NVIDIA GPU. Links no LLVM (library
// ktune_cuda_bench). Candidates are compiled,
// checked and timed in ktune-cuda-worker processes (CudaWorker.h), so a
// faulting or hanging kernel is one failed record; every result is committed
// to the store as soon as it is known.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CompileLimits.h"
#include "ktune/tuner/GpuTuner.h"
#include "ktune/tuner/GpuWorker.h"
#include "ktune/tuner/ProblemOutcome.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace kt {

struct GpuFamily;

struct CudaTuneOptions {
  int maxCandidates = 24;   ///< Per problem, shared by its families.
  double budgetSeconds = 0; ///< Per problem wall-clock cap; 0 = none.
  int batch = 8;            ///< Candidates per worker run.
  /// Also measure cuBLASLt's top `vendorAlgorithms` heuristic choices as the
  /// "cublaslt" family, so a stored winner is never slower than the vendor
  /// library. 0: ktune's own families only.
  int vendorAlgorithms = 4;
  GpuWorkerOptions worker; ///< worker.device selects the GPU.
  uint64_t seed = 42;
  bool progress = true;
  std::atomic<bool> *cancel = nullptr;
  /// Compiles MLIR families (cuda.gemm.mlir) in this process before their
  /// cubins go to the worker; without it those families are left out.
  PtxFrontend mlir;
  /// With a worker executable, those MLIR compiles run in it instead
  /// (compileGpuLimited), killed at the timeout; else in this process,
  /// unlimited.
  CompileLimits compileLimits;
};

/// Thread-compatible: one tuneOne() at a time.
class CudaTuner : public GpuTuner {
public:
  /// `toolchain`: what produced the candidates, recorded with each result
  /// and checked before a stored one is trusted: CudaCompiler's fingerprint
  /// for the GPU's arch, plus cuBLASLt's version when the vendor family is
  /// measured (see cudaToolchainFingerprint()).
  CudaTuner(cuda::DeviceInfo gpu, std::string toolchain, ResultsStore &store,
            CudaTuneOptions options);
  /// cuda:<arch> of the GPU, e.g. cuda:sm_90a.
  const TargetDesc &target() const override { return target_; }
  /// True if some CUDA family serves the problem on this GPU.
  bool serves(const GemmProblem &problem) const override;
  bool serves(const AttentionProblem &problem) const override;
  /// The validators its records carry: GPU name, SM count, NVRTC
  /// fingerprint.
  Validators validators() const override;
  Result<ProblemOutcome> tuneOne(const GemmProblem &problem) override;
  /// The same for attention (records carry op "attention"; no vendor
  /// family).
  Result<ProblemOutcome>
  tuneAttention(const AttentionProblem &problem) override;

private:
  /// Where a family's candidates compile (GpuFamilySearch's
  /// servingFamilies): MLIR ones here, with an MLIR compiler only.
  std::function<std::optional<bool>(const Result<KernelSource> &)>
  placement() const;
  /// The search every GPU tuner shares (gpu/GpuFamilySearch.h), set up for
  /// this GPU, over `families`; the last is the vendor's where
  /// `vendorBudget` > 0.
  Result<ProblemOutcome> run(ProblemOutcome outcome, const char *op,
                             const std::vector<GpuFamily> &families,
                             int vendorBudget);

  cuda::DeviceInfo gpu_;
  TargetDesc target_;
  std::string fingerprint_;
  ResultsStore &store_;
  CudaTuneOptions opt_;
};

/// "nvrtc-13.0;arch=sm_90a;flags=...;cublasLt-130000" for `target`
/// (cuBLASLt's part only where it loads); Unavailable without NVRTC.
Result<std::string> cudaToolchainFingerprint(const TargetDesc &target);

} // namespace kt
