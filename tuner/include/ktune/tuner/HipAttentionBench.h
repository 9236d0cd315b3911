// Measuring AMD attention candidates on one GPU, the twin of
// CudaAttentionBench: a reference computed once on the device (kt_attn_ref,
// compiled by the tuner with the candidates: hipReferenceSource()), a
// NaN-poisoned check of each candidate against it, and cold-cache timing over
// rotating Q/K/V/O sets covering twice L2 plus the Infinity Cache.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/tuner/GpuMeasurement.h"

#include <memory>
#include <string>
#include <vector>

namespace kt {

namespace gpubench {
template <typename Ctx> struct SplitScratch;
template <typename Ctx> struct AttentionSet;
} // namespace gpubench

/// Thread-compatible; after a "launch-failed" result see contextLost().
class HipAttentionBench {
public:
  /// Allocates the rotating sets, fills them with values in [-1, 1), loads
  /// `referenceCodeObject` and computes the reference (scale 1 / sqrt(d)).
  static Result<std::unique_ptr<HipAttentionBench>>
  create(const hip::Context &ctx, const AttentionProblem &problem,
         const std::string &referenceCodeObject,
         const GpuBenchOptions &options);
  ~HipAttentionBench();

  /// Checks then times one candidate (its launch description as the HIP
  /// attention families emit it; HipAttentionLaunch.h).
  GpuMeasurement measure(void *function, const cuda::AttentionLaunchSpec &spec,
                         double abandonAboveMs = 0);
  bool contextLost() const { return contextLost_; }
  int sets() const { return int(sets_.size()); }
  double referenceMs() const { return referenceMs_; }

private:
  HipAttentionBench() = default;

  const hip::Context *ctx_ = nullptr;
  AttentionProblem problem_;
  GpuBenchOptions opt_;
  std::vector<std::unique_ptr<gpubench::AttentionSet<hip::Context>>> sets_;
  hip::DeviceBuffer ref_, verdict_;
  std::unique_ptr<gpubench::SplitScratch<hip::Context>> scratch_;
  hip::LoadedModule refs_;
  void *check_ = nullptr;
  double referenceMs_ = 0;
  bool contextLost_ = false;
};

} // namespace kt
