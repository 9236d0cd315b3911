// Measuring CUDA GEMM candidates on one GPU: a reference product computed
// once on the device, a numerics check of each candidate against it (output
// poisoned with NaN first), and cold-L2 timing over rotating buffer sets.
// Links no LLVM: this is the core of the measurement worker process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/CublasLt.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kt {

namespace cudabench {
struct ReferenceModule;
struct SplitScratch;
} // namespace cudabench

struct CudaBenchOptions {
  /// Total bytes of the rotating sets; 0: enough sets to cover 2x L2 and at
  /// least 2 sets (capped by maxRotateBytes).
  int64_t rotateBytes = 0;
  int64_t maxRotateBytes = int64_t(4) << 30;
  int warmup = 2;
  int minBatches = 5;
  int maxBatches = 100;
  double maxMs = 300; ///< Measurement time cap per candidate.
  uint64_t seed = 42;
};

struct CudaMeasurement {
  /// "ok", "numerics-mismatch", "launch-failed" or "pruned" (a cuBLASLt
  /// algorithm index the heuristic did not offer).
  std::string status = "ok";
  std::string message;
  double medianMs = 0, dispersion = 0;
  int64_t iterations = 0;
  double maxError = 0; ///< Worst |err| / tolerance (< 1 passes).
  bool abandoned = false;
};

/// Thread-compatible. After a "launch-failed" result the context may be
/// unusable (a faulting kernel poisons it): contextLost() says so and the
/// owner should end the process.
class CudaGemmBench {
public:
  /// Allocates the rotating sets, fills them, and computes the reference
  /// (compiled with NVRTC for the device's arch).
  static Result<std::unique_ptr<CudaGemmBench>>
  create(const cuda::Context &ctx, const cuda::DeviceInfo &device,
         const GemmProblem &problem, const CudaBenchOptions &options);
  ~CudaGemmBench();

  /// Checks then times one candidate. `abandonAboveMs` > 0: a candidate
  /// whose first batch is slower is timed no further.
  CudaMeasurement measure(void *function, const cuda::GemmLaunchSpec &spec,
                          double abandonAboveMs = 0);
  /// The same for cuBLASLt's algorithm `index` (0: its default choice).
  CudaMeasurement measureCublas(const cuda::CublasLtGemm &gemm, int index,
                                double abandonAboveMs = 0);
  bool contextLost() const { return contextLost_; }
  int sets() const { return int(sets_.size()); }
  double referenceMs() const { return referenceMs_; }

private:
  struct Set;
  CudaGemmBench() = default;
  Status computeReference();
  /// Check and timing around `launch(set)`, which runs the candidate
  /// asynchronously on rotating set `set` with alpha = 1, beta = 0.
  CudaMeasurement measureLaunches(const std::function<Status(size_t)> &launch,
                                  double abandonAboveMs);

  const cuda::Context *ctx_ = nullptr;
  cuda::DeviceInfo device_;
  GemmProblem problem_;
  CudaBenchOptions opt_;
  std::vector<std::unique_ptr<Set>> sets_;
  cuda::DeviceBuffer ref_, mag_, verdict_;
  std::unique_ptr<cudabench::SplitScratch> scratch_; ///< Split-K.
  std::unique_ptr<cudabench::ReferenceModule> refs_;
  void *refFn_ = nullptr;
  double referenceMs_ = 0;
  bool contextLost_ = false;
};

} // namespace kt
