// Moving results in and out: PyTorch TunableOp results CSV and ktune's CSV.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"

#include <string>
#include <vector>

namespace kt {

/// One problem line of an input problems file.
struct ProblemLine {
  std::string signature; ///< As accepted by parseGemmProblem().
  int lineNo = 0;
};

/// Per-line diagnostics: "FILE:LINE: what is wrong; what to do".
struct CsvReport {
  int accepted = 0;
  std::vector<std::string> errors;
};

/// Writes winners in TunableOp results format: Validator lines, then
/// op_sig,params_sig,solution,time_ms. Only GEMM winners with a TunableOp
/// equivalent are written.
Status exportTunableOp(ResultsStore &store, const std::string &path);
/// Writes every winner with all fields (ktune CSV, with a header line).
Status exportKtuneCsv(ResultsStore &store, const std::string &path);
/// Imports either format (detected from the first line) into `store`.
/// Malformed lines are reported and skipped; the rest is imported.
Result<CsvReport> importCsv(ResultsStore &store, const std::string &path,
                            const std::string &defaultTarget);

} // namespace kt
