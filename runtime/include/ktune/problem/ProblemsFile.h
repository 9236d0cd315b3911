// Reading a list of GEMM problems from a file (ktune or PyTorch TunableOp).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"

#include <string>
#include <vector>

namespace kt {

/// The problems read from one file and the lines that could not be used.
struct ProblemsFileContents {
  /// Unique by key(), in order of first appearance.
  std::vector<GemmProblem> problems;
  /// Attention problems ("attn_..." lines), likewise.
  std::vector<AttentionProblem> attention;
  /// One entry per rejected line: "PATH:LINE: what is wrong; what to do".
  std::vector<std::string> errors;
};

/// Reads a problems file. Accepted lines (blank lines and '#' comments are
/// ignored):
///  - ktune signatures, one per line, after an optional `signature` header;
///    a trailing `,count` column is ignored;
///  - attention signatures (attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128);
///  - PyTorch `tunableop_untuned*.csv` lines `op_sig,params_sig`;
///  - TunableOp results lines `op_sig,params_sig,solution,time_ms` (the
///    solution is ignored) and `Validator,...` lines (skipped).
/// A malformed line is reported in `errors` and the rest is still read. Only
/// a missing or unreadable file is an error.
Result<ProblemsFileContents> readProblemsFile(const std::string &path);

} // namespace kt
