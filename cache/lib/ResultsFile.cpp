// openResultsFile: SQLite or CSV, by content.
#include "ktune/cache/ResultsFile.h"

#include "ktune/cache/CsvFormats.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>

namespace kt {

namespace {

/// True if `path` starts with SQLite's file header, is empty or cannot be
/// read (SQLite then says why); false for anything else, read as CSV.
bool looksLikeSqlite(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[16] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 0 ||
         (in.gcount() == 16 && std::memcmp(magic, "SQLite format 3", 16) == 0);
}

} // namespace

Result<OpenedResults> openResultsFile(const std::string &path,
                                      const std::string &defaultTarget) {
  OpenedResults out;
  out.sqlite = looksLikeSqlite(path);
  if (out.sqlite) {
    KT_ASSIGN_OR_RETURN(out.store, openSqliteStore(path, /*readOnly=*/true));
    return out;
  }
  KT_ASSIGN_OR_RETURN(out.store, openMemoryStore());
  Result<CsvReport> imported = importCsv(*out.store, path, defaultTarget);
  if (!imported.isOk()) {
    return failedPrecondition(fmt::format(
        "'{}' is neither a ktune results database nor a results CSV: {}", path,
        imported.status().message()));
  }
  out.csvErrors = std::move(imported->errors);
  return out;
}

} // namespace kt
