// Measuring CUDA attention candidates on one GPU: a reference attention
// computed once on the device (f32, a plain online-softmax kernel), a
// numerics check of each candidate against it (O poisoned with NaN first),
// and cold-L2 timing over rotating Q/K/V/O sets. Links no LLVM: part of the
// measurement worker process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/tuner/CudaGemmBench.h"

#include <memory>
#include <vector>

namespace kt {

namespace gpubench {
template <typename Ctx> struct AttentionSet;
} // namespace gpubench

/// Thread-compatible; after a "launch-failed" result see contextLost() (as
/// for CudaGemmBench).
class CudaAttentionBench {
public:
  /// Allocates the rotating sets, fills them with values in [-1, 1), and
  /// computes the reference with the default scale 1 / sqrt(d).
  static Result<std::unique_ptr<CudaAttentionBench>>
  create(const cuda::Context &ctx, const cuda::DeviceInfo &device,
         const AttentionProblem &problem, const GpuBenchOptions &options);
  ~CudaAttentionBench();

  /// Checks then times one candidate. `abandonAboveMs` > 0: a candidate
  /// whose first batch is slower is timed no further.
  GpuMeasurement measure(void *function, const cuda::AttentionLaunchSpec &spec,
                         double abandonAboveMs = 0);
  bool contextLost() const { return contextLost_; }
  int sets() const { return int(sets_.size()); }
  double referenceMs() const { return referenceMs_; }

private:
  CudaAttentionBench() = default;
  Status computeReference();

  const cuda::Context *ctx_ = nullptr;
  cuda::DeviceInfo device_;
  AttentionProblem problem_;
  GpuBenchOptions opt_;
  std::vector<std::unique_ptr<gpubench::AttentionSet<cuda::Context>>> sets_;
  cuda::DeviceBuffer ref_, verdict_;
  std::unique_ptr<gpubench::SplitScratch<cuda::Context>>
      scratch_; ///< Split-KV.
  std::unique_ptr<cudabench::ReferenceModule> refs_;
  double referenceMs_ = 0;
  bool contextLost_ = false;
};

} // namespace kt
