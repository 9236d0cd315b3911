// CSV helpers for the results formats: RFC 4180 parsing, quoting, files.
#pragma once

#include "ktune/base/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kt {
namespace csv {

/// One parsed CSV record and the line it starts on.
struct CsvRow {
  int line = 0;
  std::vector<std::string> fields;
};

/// Splits RFC 4180 text into records (each has at least one field). Blank
/// lines and lines starting with '#' are skipped. A bad quote is reported in
/// `errors` as "PATH:LINE: ..." and its line skipped; an unterminated quote
/// ends parsing.
std::vector<CsvRow> parseCsv(std::string_view text, const std::string &path,
                             std::vector<std::string> &errors);

/// `s` without leading and trailing whitespace.
std::string trimmed(std::string_view s);
/// `s` quoted per RFC 4180 if it contains a comma, quote or line break.
std::string quoteField(const std::string &s);
/// Shortest exact form: "%.17g".
std::string formatReal(double v);
/// Whole-string number parsers; `what` names the field in the error.
Result<double> parseReal(const std::string &text, std::string_view what);
Result<int64_t> parseInteger(const std::string &text, std::string_view what);

Result<std::string> readFile(const std::string &path);
Status writeFile(const std::string &path, const std::string &data);

} // namespace csv
} // namespace kt
