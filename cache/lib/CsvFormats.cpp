// Export and import of results: PyTorch TunableOp results CSV and ktune CSV.
#include "ktune/cache/CsvFormats.h"

#include "CsvUtil.h"

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

namespace kt {

namespace {

using csv::CsvRow;
using csv::formatReal;
using csv::parseReal;
using csv::trimmed;

constexpr const char *kKtuneVersion = "0.1.0";
constexpr std::string_view kSolutionPrefix = "ktune:";

/// One TuningRecord column of the ktune CSV, in declaration order.
struct Column {
  const char *name;
  std::string TuningRecord::*str = nullptr;
  double TuningRecord::*real = nullptr;
  int64_t TuningRecord::*integer = nullptr;
  /// Added after the first release: files without it still import.
  bool optional = false;
};

const Column kColumns[] = {
    {"problem_key", &TuningRecord::problemKey},
    {"op", &TuningRecord::op},
    {"target", &TuningRecord::target},
    {"template_name", &TuningRecord::templateName},
    {"template_hash", &TuningRecord::templateHash},
    {"params", &TuningRecord::params},
    {"status", &TuningRecord::status},
    {"message", &TuningRecord::message},
    {"time_ms", nullptr, &TuningRecord::timeMs},
    {"dispersion", nullptr, &TuningRecord::dispersion},
    {"warm_ms", nullptr, &TuningRecord::warmMs},
    {"iterations", nullptr, nullptr, &TuningRecord::iterations},
    {"max_error", nullptr, &TuningRecord::maxError},
    {"device_model", &TuningRecord::deviceModel},
    {"device_features", &TuningRecord::deviceFeatures},
    {"compiler_fingerprint", &TuningRecord::compilerFingerprint},
    {"binary_hash", &TuningRecord::binaryHash},
    {"created_unix", nullptr, nullptr, &TuningRecord::createdUnix},
    {"launch", &TuningRecord::launch, nullptr, nullptr, true},
};
constexpr size_t kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);
/// The index of an optional column a file lacks.
constexpr size_t kAbsent = ~size_t(0);

/// The line number in an error "PATH:LINE: ...", or 0.
int lineOf(const std::string &error, const std::string &path) {
  if (error.compare(0, path.size(), path) != 0 || error.size() <= path.size() ||
      error[path.size()] != ':') {
    return 0;
  }
  return std::atoi(error.c_str() + path.size() + 1);
}

/// Stores `r`; an invalid record becomes a line error, a database error
/// stops the import.
Status putRecord(ResultsStore &store, const TuningRecord &r,
                 const std::string &where, CsvReport &report) {
  Status st = store.put(r);
  if (st.isOk()) {
    ++report.accepted;
    return Status::ok();
  }
  if (st.code() == StatusCode::InvalidArgument) {
    report.errors.push_back(where + ": " + st.message());
    return Status::ok();
  }
  return st.withContext("while importing " + where);
}

Status importTunableOp(ResultsStore &store, const std::string &path,
                       const std::vector<CsvRow> &rows,
                       const std::string &defaultTarget, CsvReport &report) {
  std::string target = defaultTarget, deviceModel, features;
  for (const CsvRow &row : rows) {
    if (row.fields[0] == "Validator" && row.fields.size() >= 3) {
      if (row.fields[1] == "KTUNE_TARGET") {
        target = trimmed(row.fields[2]);
      } else if (row.fields[1] == "KTUNE_DEVICE") {
        deviceModel = trimmed(row.fields[2]);
      } else if (row.fields[1] == "KTUNE_FEATURES") {
        // Written space-separated: a comma would split the CSV field.
        features = trimmed(row.fields[2]);
        std::replace(features.begin(), features.end(), ' ', ',');
      }
    }
  }
  if (target.empty()) {
    return invalidArgument(fmt::format(
        "'{}' has no Validator,KTUNE_TARGET line and no default target was "
        "given; pass the target the results were measured on (e.g. cpu)",
        path));
  }
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const CsvRow &row : rows) {
    std::string where = fmt::format("{}:{}", path, row.line);
    const std::vector<std::string> &f = row.fields;
    if (f[0] == "Validator") {
      if (f.size() < 3) {
        report.errors.push_back(where +
                                ": Validator line needs a name and a value "
                                "(Validator,NAME,VALUE); line skipped");
      }
      continue;
    }
    if (f.size() != 4) {
      report.errors.push_back(fmt::format(
          "{}: expected op_sig,params_sig,solution,time_ms but found {} "
          "field(s){}; line skipped",
          where, f.size(),
          f.size() == 2 ? " (an untuned problem: tune it first)" : ""));
      continue;
    }
    Result<GemmProblem> p = parseTunableOpGemm(f[0], f[1]);
    if (!p.isOk()) {
      report.errors.push_back(where + ": " + p.status().message() +
                              "; line skipped");
      continue;
    }
    std::string solution = trimmed(f[2]);
    if (solution.substr(0, kSolutionPrefix.size()) != kSolutionPrefix) {
      report.errors.push_back(fmt::format(
          "{}: solution '{}' is not a ktune solution, skipped; only "
          "'ktune:<template>:<params>' solutions can be imported",
          where, solution));
      continue;
    }
    std::string rest = solution.substr(kSolutionPrefix.size());
    size_t colon = rest.find(':');
    TuningRecord r;
    r.templateName = rest.substr(0, colon);
    r.params = colon == std::string::npos ? "" : rest.substr(colon + 1);
    Result<Config> config = parseConfig(r.params);
    if (r.templateName.empty() || colon == std::string::npos ||
        !config.isOk()) {
      report.errors.push_back(fmt::format(
          "{}: solution '{}' must be ktune:<template>:<name=value;...>{}{}; "
          "line skipped",
          where, solution, config.isOk() ? "" : ": ",
          config.isOk() ? "" : config.status().message()));
      continue;
    }
    Result<double> time = parseReal(trimmed(f[3]), "time_ms");
    if (!time.isOk()) {
      report.errors.push_back(where + ": " + time.status().message() +
                              "; line skipped");
      continue;
    }
    r.problemKey = p->key();
    r.target = target;
    r.status = "ok";
    r.timeMs = *time;
    r.deviceModel = deviceModel;
    r.deviceFeatures = features;
    r.createdUnix = now;
    KT_RETURN_IF_ERROR(putRecord(store, r, where, report));
  }
  return Status::ok();
}

/// Fills `r` from one ktune CSV row; `index[c]` is kColumns[c]'s field.
Status parseKtuneRow(const CsvRow &row, const size_t *index, TuningRecord &r) {
  for (size_t c = 0; c < kNumColumns; ++c) {
    const Column &col = kColumns[c];
    if (index[c] == kAbsent) {
      continue;
    }
    const std::string &text = row.fields[index[c]];
    if (col.str) {
      r.*col.str = text;
    } else if (col.real) {
      KT_ASSIGN_OR_RETURN(r.*col.real, parseReal(text, col.name));
    } else {
      KT_ASSIGN_OR_RETURN(r.*col.integer, csv::parseInteger(text, col.name));
    }
  }
  if (r.op == "gemm") {
    Result<GemmProblem> p = parseGemmProblem(r.problemKey);
    if (!p.isOk()) {
      return p.status();
    }
  }
  return Status::ok();
}

Status importKtuneCsv(ResultsStore &store, const std::string &path,
                      const std::vector<CsvRow> &rows,
                      const std::string &defaultTarget, CsvReport &report) {
  const CsvRow &header = rows.front();
  size_t index[kNumColumns];
  for (size_t c = 0; c < kNumColumns; ++c) {
    auto it =
        std::find(header.fields.begin(), header.fields.end(), kColumns[c].name);
    if (it == header.fields.end() && kColumns[c].optional) {
      index[c] = kAbsent;
      continue;
    }
    if (it == header.fields.end()) {
      return invalidArgument(fmt::format(
          "{}:{}: the ktune CSV header lacks column '{}'; re-export the file "
          "with this ktune",
          path, header.line, kColumns[c].name));
    }
    index[c] = static_cast<size_t>(it - header.fields.begin());
  }
  for (size_t i = 1; i < rows.size(); ++i) {
    const CsvRow &row = rows[i];
    std::string where = fmt::format("{}:{}", path, row.line);
    if (row.fields.size() != header.fields.size()) {
      report.errors.push_back(fmt::format(
          "{}: expected {} fields like the header but found {}; quote fields "
          "that contain commas; line skipped",
          where, header.fields.size(), row.fields.size()));
      continue;
    }
    TuningRecord r;
    Status st = parseKtuneRow(row, index, r);
    if (r.target.empty()) {
      r.target = defaultTarget;
    }
    if (st.isOk() && r.target.empty()) {
      st = invalidArgument("the target is empty and no default target was "
                           "given; fill in the target column");
    }
    if (!st.isOk()) {
      report.errors.push_back(where + ": " + st.message() + "; line skipped");
      continue;
    }
    KT_RETURN_IF_ERROR(putRecord(store, r, where, report));
  }
  return Status::ok();
}

} // namespace

// The TunableOp format has one set of Validator lines per file, so a file
// describes one target: the target of the first GEMM winner (in key order)
// is written, and winners measured on other targets are left out. Export
// once per target to keep them all. Winners whose template name contains
// ':' or ',' or whose params contain ',' cannot form a solution field and
// are left out too (Config strings never contain commas), as are GEMMs
// TunableOp cannot spell (f32 output of 16-bit inputs).
Status exportTunableOp(ResultsStore &store, const std::string &path) {
  KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> winners, store.winners());
  std::string target, deviceModel, features, body;
  for (const TuningRecord &w : winners) {
    Result<GemmProblem> p = parseGemmProblem(w.problemKey);
    if (w.op != "gemm" || !p.isOk() || !p->hasTunableOpForm()) {
      continue;
    }
    if (target.empty()) {
      target = w.target;
      deviceModel = w.deviceModel;
      features = w.deviceFeatures;
    }
    // One machine per file: TunableOp files carry one set of validators.
    if (w.target != target || w.deviceModel != deviceModel ||
        w.templateName.find_first_of(":,\n\r") != std::string::npos ||
        w.params.find_first_of(",\n\r") != std::string::npos) {
      continue;
    }
    body += fmt::format("{},{},{}{}:{},{}\n", p->tunableOpSig(),
                        p->tunableOpParams(), kSolutionPrefix, w.templateName,
                        w.params, formatReal(w.timeMs));
  }
  std::string out = fmt::format("Validator,KTUNE_VERSION,{}\n", kKtuneVersion);
  if (!target.empty()) {
    for (char &c : deviceModel) {
      if (c == ',' || c == '\n' || c == '\r') {
        c = ' ';
      }
    }
    out += fmt::format("Validator,KTUNE_TARGET,{}\n", target);
    out += fmt::format("Validator,KTUNE_DEVICE,{}\n", deviceModel);
    std::replace(features.begin(), features.end(), ',', ' ');
    out += fmt::format("Validator,KTUNE_FEATURES,{}\n", features);
  }
  return csv::writeFile(path, out + body);
}

Status exportKtuneCsv(ResultsStore &store, const std::string &path) {
  KT_ASSIGN_OR_RETURN(std::vector<TuningRecord> winners, store.winners());
  std::string out;
  for (size_t c = 0; c < kNumColumns; ++c) {
    out += (c ? "," : "");
    out += kColumns[c].name;
  }
  out += '\n';
  for (const TuningRecord &r : winners) {
    for (size_t c = 0; c < kNumColumns; ++c) {
      const Column &col = kColumns[c];
      out += (c ? "," : "");
      if (col.str) {
        out += csv::quoteField(r.*col.str);
      } else if (col.real) {
        out += formatReal(r.*col.real);
      } else {
        out += std::to_string(r.*col.integer);
      }
    }
    out += '\n';
  }
  return csv::writeFile(path, out);
}

Result<CsvReport> importCsv(ResultsStore &store, const std::string &path,
                            const std::string &defaultTarget) {
  KT_ASSIGN_OR_RETURN(std::string text, csv::readFile(path));
  CsvReport report;
  std::vector<std::string> parseErrors;
  std::vector<CsvRow> rows = csv::parseCsv(text, path, parseErrors);
  if (rows.empty()) {
    report.errors = parseErrors;
    report.errors.push_back(
        fmt::format("{}: no records found; nothing was imported", path));
    return report;
  }
  const std::string &first = rows.front().fields[0];
  if (first == "Validator" || first.find("TunableOp") != std::string::npos) {
    KT_RETURN_IF_ERROR(
        importTunableOp(store, path, rows, defaultTarget, report));
  } else if (first == "problem_key") {
    KT_RETURN_IF_ERROR(
        importKtuneCsv(store, path, rows, defaultTarget, report));
  } else {
    return invalidArgument(fmt::format(
        "{}:{}: unrecognised CSV (first field '{}'); expected a TunableOp "
        "results file (Validator,... or GemmTunableOp_... lines) or a ktune "
        "CSV (header starting with problem_key,)",
        path, rows.front().line, first));
  }
  // Report in line order: quoting errors were found before the rows.
  report.errors.insert(report.errors.end(), parseErrors.begin(),
                       parseErrors.end());
  std::stable_sort(report.errors.begin(), report.errors.end(),
                   [&](const std::string &a, const std::string &b) {
                     return lineOf(a, path) < lineOf(b, path);
                   });
  return report;
}

} // namespace kt
