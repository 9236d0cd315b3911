// What tuning one problem produced (CPU or GPU).
#pragma once

#include "ktune/cache/TuningRecord.h"
#include "ktune/problem/GemmProblem.h"

#include <optional>

namespace kt {

struct ProblemOutcome {
  GemmProblem problem;
  std::optional<TuningRecord> winner;
  int candidates = 0, failed = 0, skipped = 0;
};

} // namespace kt
