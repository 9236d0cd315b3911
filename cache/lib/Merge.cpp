// mergeResults: winners, code objects and misses from one store to another.
#include "ktune/cache/Merge.h"

#include <fmt/format.h>

namespace kt {

namespace {

/// The same measurement, copied before (every field that identifies it).
bool sameMeasurement(const TuningRecord &a, const TuningRecord &b) {
  return a.templateName == b.templateName && a.params == b.params &&
         a.deviceModel == b.deviceModel && a.createdUnix == b.createdUnix &&
         a.timeMs == b.timeMs && a.binaryHash == b.binaryHash;
}

} // namespace

Result<MergeReport> mergeResults(ResultsStore &out, ResultsStore &in) {
  MergeReport report;
  KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> winners, in.winners());
  for (const TuningRecord &w : winners) {
    ++report.winners;
    KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> existing,
                        out.measurements(w.problemKey, w.target));
    bool present = false;
    for (const TuningRecord &e : existing) {
      present = present || sameMeasurement(e, w);
    }
    if (present) {
      ++report.duplicates;
      continue;
    }
    if (!w.binaryHash.empty()) {
      KT_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                          in.getBinary(w.binaryHash));
      KT_ASSIGN_OR_RETURN(std::optional<std::string> have,
                          out.getBinary(w.binaryHash));
      if (bytes && !have) {
        KT_RETURN_IF_ERROR(out.putBinary(w.binaryHash, w.target, *bytes));
        ++report.binaries;
      } else if (!bytes && !have) {
        report.warnings.push_back(fmt::format(
            "{}: the code object {} of {} ({} {}) is missing; the result is "
            "merged, but lookups will not find a kernel for it",
            in.path(), w.binaryHash, w.problemKey, w.templateName, w.params));
      }
    }
    KT_RETURN_IF_ERROR(out.put(w));
    KT_ASSIGN_OR_RETURN(std::optional<TuningRecord> after,
                        out.winner(w.problemKey, w.target, w.deviceModel));
    if (after && sameMeasurement(*after, w)) {
      ++report.newWinners;
    } else {
      ++report.slower;
    }
  }
  KT_ASSIGN_OR_RETURN(std::vector<MissRecord> misses, in.misses());
  KT_RETURN_IF_ERROR(out.putMisses(misses, /*keepLarger=*/true));
  report.misses = int64_t(misses.size());
  return report;
}

} // namespace kt
