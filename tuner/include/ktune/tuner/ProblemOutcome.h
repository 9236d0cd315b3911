// What tuning one problem produced (CPU or GPU).
#pragma once

#include "ktune/cache/TuningRecord.h"
#include "ktune/problem/GemmProblem.h"

#include <optional>
#include <string>

namespace kt {

struct ProblemOutcome {
  GemmProblem problem; ///< GEMM problems only.
  std::string problemKey;
  double flops = 0;
  std::optional<TuningRecord> winner;
  int candidates = 0, failed = 0, skipped = 0;
};

} // namespace kt
