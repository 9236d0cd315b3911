// Measuring AMD GEMM candidates on one GPU, the twin of CudaGemmBench: a
// reference product computed once on the device, a NaN-poisoned numerics
// check of each candidate against it, and cold-cache timing over rotating
// sets covering twice L2 plus the Infinity Cache. Links no LLVM: the
// reference kernels arrive as a code object the tuner compiled
// (hipReferenceSource()).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/tuner/GpuMeasurement.h"

#include <functional>
#include <memory>
#include <vector>

namespace kt {

namespace gpubench {
template <typename Ctx> struct SplitScratch;
template <typename Ctx> struct GemmSet;
} // namespace gpubench

/// The HIP C++ of the reference kernels (kt_ref, kt_check) to compile for
/// the device's arch and pass to HipGemmBench::create.
const char *hipReferenceSource();

/// Thread-compatible. After a "launch-failed" result the device may be
/// unusable: contextLost() says so and the owner should end the process.
class HipGemmBench {
public:
  /// Allocates the rotating sets, fills them, loads `referenceCodeObject`
  /// and computes the reference.
  static Result<std::unique_ptr<HipGemmBench>>
  create(const hip::Context &ctx, const GemmProblem &problem,
         const std::string &referenceCodeObject,
         const GpuBenchOptions &options);
  ~HipGemmBench();

  /// Checks then times one candidate. `abandonAboveMs` > 0: a candidate
  /// whose first batch is slower is timed no further.
  GpuMeasurement measure(void *function, const hip::GemmLaunchSpec &spec,
                         double abandonAboveMs = 0);
  /// The same for hipBLASLt's algorithm `index` (0: its default choice).
  GpuMeasurement measureHipBlasLt(const hip::HipBlasLtGemm &gemm, int index,
                                  double abandonAboveMs = 0);
  bool contextLost() const { return contextLost_; }
  int sets() const { return int(sets_.size()); }
  double referenceMs() const { return referenceMs_; }

private:
  HipGemmBench() = default;
  GpuMeasurement measureLaunches(const std::function<Status(size_t)> &launch,
                                 double abandonAboveMs);

  const hip::Context *ctx_ = nullptr;
  GemmProblem problem_;
  GpuBenchOptions opt_;
  std::vector<std::unique_ptr<gpubench::GemmSet<hip::Context>>> sets_;
  hip::DeviceBuffer ref_, mag_, verdict_;
  std::unique_ptr<gpubench::SplitScratch<hip::Context>> scratch_;
  hip::LoadedModule refs_;
  void *check_ = nullptr;
  double referenceMs_ = 0;
  bool contextLost_ = false;
};

} // namespace kt
