// `ktune export` and `ktune import`: TunableOp CSV and ktune CSV.
#include "Commands.h"

#include "ktune/cache/CsvFormats.h"

#include <fmt/format.h>

#include <memory>

namespace kt::cli {

Runner addExport(CLI::App &app) {
  struct Args {
    std::string db, format = "tunableop", out;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "export", "Write the winners as PyTorch TunableOp results CSV or as "
                "ktune's CSV (every field)");
  c->add_option("--db", a->db, "SQLite results file")->required();
  c->add_option("--format", a->format, "tunableop or csv")
      ->check(CLI::IsMember({"tunableop", "csv"}))
      ->capture_default_str();
  c->add_option("-o,--output", a->out, "Output file (default: stdout)");
  return [a] {
    auto store = openSqliteStore(a->db, /*readOnly=*/true);
    if (!store) {
      return fail(store.status().message());
    }
    std::string path = a->out.empty() ? "/dev/stdout" : a->out;
    Status s = a->format == "tunableop" ? exportTunableOp(**store, path)
                                        : exportKtuneCsv(**store, path);
    if (!s) {
      return fail(s.message());
    }
    return 0;
  };
}

Runner addImport(CLI::App &app) {
  struct Args {
    std::string db, csv, target = "cpu";
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "import", "Read a TunableOp results CSV or a ktune CSV into a DB; the "
                "faster result per problem wins");
  c->add_option("--db", a->db, "SQLite results file (created if missing)")
      ->required();
  c->add_option("csv", a->csv, "CSV file to read")->required();
  c->add_option("--target", a->target,
                "Target for TunableOp lines without a KTUNE_TARGET validator")
      ->capture_default_str();
  return [a] {
    auto store = openSqliteStore(a->db);
    if (!store) {
      return fail(store.status().message());
    }
    auto report = importCsv(**store, a->csv, a->target);
    if (!report) {
      return fail(report.status().message());
    }
    for (const std::string &e : report->errors) {
      fmt::print(stderr, "ktune: warning: {}\n", e);
    }
    fmt::print("imported {} record(s) from {} into {} ({} line(s) "
               "skipped)\n",
               report->accepted, a->csv, a->db, report->errors.size());
    return 0;
  };
}

} // namespace kt::cli
