// `ktune merge`: several results files into one.
#include "Commands.h"

#include "ktune/cache/Merge.h"
#include "ktune/cache/ResultsFile.h"
#include "ktune/cache/ResultsStore.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

namespace kt::cli {

Runner addMerge(CLI::App &app) {
  struct Args {
    std::string db;
    std::vector<std::string> inputs;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "merge", "Merge results files (e.g. one per GPU or host) into one, "
               "keeping each machine's fastest result with its code object");
  c->add_option("--db", a->db,
                "SQLite results file to merge into (created "
                "if missing)")
      ->required();
  c->add_option("inputs", a->inputs,
                "Results files to read (SQLite, ktune CSV or TunableOp CSV)")
      ->required();
  return [a] {
    auto out = openSqliteStore(a->db);
    if (!out) {
      return fail(out.status().message());
    }
    int failed = 0;
    for (const std::string &in : a->inputs) {
      std::error_code ec;
      if (std::filesystem::equivalent(in, a->db, ec)) {
        fmt::print(stderr, "ktune: warning: {} is the output; skipped\n", in);
        continue;
      }
      auto opened = openResultsFile(in, "");
      if (!opened) {
        fmt::print(stderr, "ktune: error: {}\n", opened.status().message());
        ++failed;
        continue;
      }
      for (const std::string &e : opened->csvErrors) {
        fmt::print(stderr, "ktune: warning: {}\n", e);
      }
      auto report = mergeResults(**out, *opened->store);
      if (!report) {
        return fail(fmt::format("merging {} into {} stopped: {}; what was "
                                "merged before is kept",
                                in, a->db, report.status().message()));
      }
      for (const std::string &w : report->warnings) {
        fmt::print(stderr, "ktune: warning: {}\n", w);
      }
      fmt::print("{}: {} winner(s): {} now winning, {} slower than {}'s "
                 "(kept as measurements), {} already there; {} code "
                 "object(s) copied; {} miss record(s)\n",
                 in, report->winners, report->newWinners, report->slower, a->db,
                 report->duplicates, report->binaries, report->misses);
    }
    return failed ? 1 : 0;
  };
}

} // namespace kt::cli
