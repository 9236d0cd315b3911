// HipTuner: tunes GEMM and attention problems on one AMD GPU. Every candidate
// is compiled in this process (HipCompiler: hiprtc or clang-22), then checked
// and timed in ktune-hip-worker processes (GpuWorker.h), so a faulting or
// hanging kernel is one failed record; hipBLASLt's top algorithms compete as
// the "hipblaslt" family where it is installed. Every result is committed to
// the store as soon as it is known.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/tuner/CompileLimits.h"
#include "ktune/tuner/GpuTuner.h"
#include "ktune/tuner/GpuWorker.h"

#include <atomic>
#include <string>
#include <vector>

namespace kt {

struct GpuFamily;

struct HipTuneOptions {
  int maxCandidates = 24;   ///< Per problem, shared by its families.
  double budgetSeconds = 0; ///< Per problem wall-clock cap; 0 = none.
  int batch = 8;            ///< Candidates per worker run.
  /// hipBLASLt's top heuristic choices measured as the "hipblaslt" family
  /// (where it loads); 0: ktune's own families only.
  int vendorAlgorithms = 4;
  GpuWorkerOptions worker; ///< worker.device selects the GPU.
  HipFrontend frontend = HipFrontend::Auto;
  /// With a worker executable every candidate compiles in it
  /// (compileGpuLimited), killed at the timeout; else in this process,
  /// where only a clang compile is limited (by compileTimeoutSeconds:
  /// hiprtc and MLIR are not).
  CompileLimits compileLimits;
  /// A candidate's clang compile still running after this long is killed
  /// and recorded as failed.
  double compileTimeoutSeconds = 300;
  uint64_t seed = 42;
  bool progress = true;
  std::atomic<bool> *cancel = nullptr;
};

/// Thread-compatible: one tuneOne() at a time.
class HipTuner : public GpuTuner {
public:
  /// `toolchain`: hipToolchainFingerprint() for the GPU's arch.
  HipTuner(hip::DeviceInfo gpu, std::string toolchain, ResultsStore &store,
           HipTuneOptions options);
  /// hip:<arch> of the GPU, e.g. hip:gfx942.
  const TargetDesc &target() const override { return target_; }
  bool serves(const GemmProblem &problem) const override;
  bool serves(const AttentionProblem &problem) const override;
  /// GPU name, CU count and the compiler fingerprint.
  Validators validators() const override;
  Result<ProblemOutcome> tuneOne(const GemmProblem &problem) override;
  /// The same for attention (records carry op "attention"; no vendor
  /// family).
  Result<ProblemOutcome>
  tuneAttention(const AttentionProblem &problem) override;

private:
  /// The shared GPU search over `families` (all compiled here, with the
  /// reference kernels staged for the worker); the last is the vendor's
  /// where `vendorBudget` > 0.
  Result<ProblemOutcome> run(ProblemOutcome outcome, const char *op,
                             const std::vector<GpuFamily> &families,
                             int vendorBudget);

  hip::DeviceInfo gpu_;
  TargetDesc target_;
  std::string fingerprint_;
  ResultsStore &store_;
  HipTuneOptions opt_;
};

/// "hiprtc-7.0;gfx950;...;hipblaslt-..." or "clang-22...;hipblaslt-..." for
/// `target` (hipBLASLt's part only where it loads); Unavailable without a
/// HIP compiler.
Result<std::string> hipToolchainFingerprint(const TargetDesc &target,
                                            HipFrontend frontend);

} // namespace kt
