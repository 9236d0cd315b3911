// Opening any results file for reading: a SQLite results database, or a
// ktune / TunableOp results CSV read into a private in-memory store.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"

#include <memory>
#include <string>
#include <vector>

namespace kt {

struct OpenedResults {
  std::unique_ptr<ResultsStore> store;
  bool sqlite = false; ///< False: read from CSV (no code objects).
  /// CSV lines that were skipped, "PATH:LINE: why".
  std::vector<std::string> csvErrors;
};

/// Opens `path` read-only, telling the formats apart by content (SQLite's
/// file header). CSV records without a target get `defaultTarget`. A file
/// that is neither gives FailedPrecondition naming it.
Result<OpenedResults> openResultsFile(const std::string &path,
                                      const std::string &defaultTarget);

} // namespace kt
