// Problems-file reader: ktune signatures and PyTorch TunableOp CSV lines.
#include "ktune/problem/ProblemsFile.h"

#include "ktune/problem/AttentionProblem.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_set>
#include <vector>

namespace kt {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

/// Splits a line at commas into trimmed fields (no quoting in these files).
std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t pos = line.find(',', start);
    if (pos == std::string_view::npos) {
      fields.push_back(trim(line.substr(start)));
      return fields;
    }
    fields.push_back(trim(line.substr(start, pos - start)));
    start = pos + 1;
  }
}

/// Parses one non-blank, non-comment line. Returns nullopt in `skip` cases
/// (headers, validators).
Result<std::optional<GemmProblem>> parseLine(std::string_view line) {
  std::vector<std::string_view> fields = splitFields(line);
  std::string_view first = fields[0];
  if (equalsIgnoreCase(first, "signature") || first == "Validator" ||
      first == "op_sig" || first == "OpSig") {
    return std::optional<GemmProblem>();
  }
  if (first.substr(0, 5) == "gemm_") {
    // ktune signature, optionally followed by a count column.
    KT_ASSIGN_OR_RETURN(GemmProblem p, parseGemmProblem(first));
    return std::optional<GemmProblem>(p);
  }
  if (first.find("TunableOp") != std::string_view::npos) {
    if (fields.size() < 2 || fields[1].empty()) {
      return invalidArgument(fmt::format(
          "TunableOp op '{}' has no params column; write "
          "'OP,PARAMS', e.g. GemmTunableOp_float_TN,tn_4096_16_4096",
          first));
    }
    // Untuned (2 columns) or results (4 columns): the solution is ignored.
    KT_ASSIGN_OR_RETURN(GemmProblem p, parseTunableOpGemm(first, fields[1]));
    return std::optional<GemmProblem>(p);
  }
  KT_ASSIGN_OR_RETURN(GemmProblem p, parseGemmProblem(first));
  return std::optional<GemmProblem>(p);
}

} // namespace

Result<ProblemsFileContents> readProblemsFile(const std::string &path) {
  if (path.empty()) {
    return invalidArgument("problems file path is empty; pass a file with one "
                           "GEMM signature per line");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return invalidArgument(fmt::format(
        "problems file '{}' is a directory; pass a file with one GEMM "
        "signature per line",
        path));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string why = err != 0 ? std::strerror(err) : "cannot open";
    return notFound(fmt::format(
        "cannot read problems file '{}': {}; check the path and permissions",
        path, why));
  }
  ProblemsFileContents out;
  std::unordered_set<std::string> seen;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    std::string_view view = line;
    if (lineNo == 1 && view.substr(0, 3) == "\xEF\xBB\xBF") {
      view.remove_prefix(3); // UTF-8 byte order mark.
    }
    view = trim(view);
    if (view.empty() || view.front() == '#') {
      continue;
    }
    if (isAttentionSignature(view)) {
      // An attention signature, optionally followed by a count column.
      Result<AttentionProblem> a = parseAttentionProblem(splitFields(view)[0]);
      if (!a.isOk()) {
        out.errors.push_back(fmt::format("{}:{}: {}; line skipped", path,
                                         lineNo, a.status().message()));
      } else if (seen.insert(a->key()).second) {
        out.attention.push_back(*a);
      }
      continue;
    }
    Result<std::optional<GemmProblem>> parsed = parseLine(view);
    if (!parsed.isOk()) {
      out.errors.push_back(fmt::format("{}:{}: {}; line skipped", path, lineNo,
                                       parsed.status().message()));
      continue;
    }
    if (!parsed->has_value()) {
      continue;
    }
    const GemmProblem &p = **parsed;
    if (seen.insert(p.key()).second) {
      out.problems.push_back(p);
    }
  }
  if (in.bad()) {
    return dataLoss(fmt::format(
        "I/O error while reading problems file '{}' (stopped after line {}); "
        "check the file system",
        path, lineNo));
  }
  return out;
}

} // namespace kt
