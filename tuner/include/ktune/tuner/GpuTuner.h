// What `ktune tune` asks of a GPU tuner, whatever the vendor (CudaTuner,
// HipTuner): which problems it serves, the provenance its records carry,
// and tuning one problem, every result committed as it is known.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/TuningRecord.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/tuner/ProblemOutcome.h"

namespace kt {

class GpuTuner {
public:
  virtual ~GpuTuner() = default;
  /// The GPU's target, e.g. cuda:sm_90a or hip:gfx942.
  virtual const TargetDesc &target() const = 0;
  /// True if some family serves the problem on this GPU.
  virtual bool serves(const GemmProblem &problem) const = 0;
  virtual bool serves(const AttentionProblem &problem) const = 0;
  /// The validators its records carry (GPU, compute units, toolchain).
  virtual Validators validators() const = 0;
  virtual Result<ProblemOutcome> tuneOne(const GemmProblem &problem) = 0;
  virtual Result<ProblemOutcome>
  tuneAttention(const AttentionProblem &problem) = 0;
};

} // namespace kt
