// Merging results files: several DBs (one per GPU or host, say) into one,
// keeping every winner with its provenance and code object.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kt {

struct MergeReport {
  int64_t winners = 0;    ///< Winners read from the input.
  int64_t newWinners = 0; ///< Now the winner of their key in the output.
  int64_t slower = 0;     ///< Kept as measurements; the output's is faster.
  int64_t duplicates = 0; ///< Already in the output (merged before).
  int64_t binaries = 0;   ///< Code objects copied.
  int64_t misses = 0;     ///< Miss records merged.
  std::vector<std::string> warnings;
};

/// Copies `in`'s winners (with their code objects) and misses into `out`.
/// Winners are kept per (problem, target, device model), so results from
/// different machines sit side by side and the faster one of the same
/// machine wins. Merging the same input twice changes nothing (miss counts
/// keep the larger value). Each record is its own transaction, so an
/// interrupted merge leaves `out` consistent.
Result<MergeReport> mergeResults(ResultsStore &out, ResultsStore &in);

} // namespace kt
