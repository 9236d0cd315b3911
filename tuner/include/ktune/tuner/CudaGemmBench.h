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
#include "ktune/tuner/GpuMeasurement.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kt {

namespace cudabench {
struct ReferenceModule;
} // namespace cudabench
namespace gpubench {
template <typename Ctx> struct SplitScratch;
template <typename Ctx> struct GemmSet;
} // namespace gpubench

/// Thread-compatible. After a "launch-failed" result the context may be
/// unusable (a faulting kernel poisons it): contextLost() says so and the
/// owner should end the process.
class CudaGemmBench {
public:
  /// Allocates the rotating sets, fills them, and computes the reference
  /// (compiled with NVRTC for the device's arch).
  static Result<std::unique_ptr<CudaGemmBench>>
  create(const cuda::Context &ctx, const cuda::DeviceInfo &device,
         const GemmProblem &problem, const GpuBenchOptions &options);
  ~CudaGemmBench();

  /// Checks then times one candidate. `abandonAboveMs` > 0: a candidate
  /// whose first batch is slower is timed no further.
  GpuMeasurement measure(void *function, const cuda::GemmLaunchSpec &spec,
                         double abandonAboveMs = 0);
  /// The same for cuBLASLt's algorithm `index` (0: its default choice).
  GpuMeasurement measureCublas(const cuda::CublasLtGemm &gemm, int index,
                               double abandonAboveMs = 0);
  bool contextLost() const { return contextLost_; }
  int sets() const { return int(sets_.size()); }
  double referenceMs() const { return referenceMs_; }

private:
  CudaGemmBench() = default;
  Status computeReference();
  /// Check and timing around `launch(set)`, which runs the candidate
  /// asynchronously on rotating set `set` with alpha = 1, beta = 0.
  GpuMeasurement measureLaunches(const std::function<Status(size_t)> &launch,
                                 double abandonAboveMs);

  const cuda::Context *ctx_ = nullptr;
  cuda::DeviceInfo device_;
  GemmProblem problem_;
  GpuBenchOptions opt_;
  std::vector<std::unique_ptr<gpubench::GemmSet<cuda::Context>>> sets_;
  cuda::DeviceBuffer ref_, mag_, verdict_;
  std::unique_ptr<gpubench::SplitScratch<cuda::Context>> scratch_; ///< Split-K.
  std::unique_ptr<cudabench::ReferenceModule> refs_;
  void *refFn_ = nullptr;
  double referenceMs_ = 0;
  bool contextLost_ = false;
};

} // namespace kt
