// What measuring a GPU candidate takes and gives, on any GPU vendor: the
// rotating-set and timing options, and the verdict (status, cold-cache
// timing, worst numerical error).
#pragma once

#include <cstdint>
#include <string>

namespace kt {

struct GpuBenchOptions {
  /// Total bytes of the rotating sets; 0: enough sets to cover twice
  /// the caches (L2, and the Infinity Cache on AMD) and at
  /// least 2 sets (capped by maxRotateBytes).
  int64_t rotateBytes = 0;
  int64_t maxRotateBytes = int64_t(4) << 30;
  int warmup = 2;
  int minBatches = 5;
  int maxBatches = 100;
  double maxMs = 300; ///< Measurement time cap per candidate.
  uint64_t seed = 42;
};

struct GpuMeasurement {
  /// "ok", "numerics-mismatch", "launch-failed" or "pruned" (a vendor
  /// library algorithm index its heuristic did not offer).
  std::string status = "ok";
  std::string message;
  double medianMs = 0, dispersion = 0;
  int64_t iterations = 0;
  double maxError = 0; ///< Worst |err| / tolerance (< 1 passes).
  bool abandoned = false;
};

} // namespace kt
