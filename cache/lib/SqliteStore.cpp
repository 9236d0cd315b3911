// SQLite-backed ResultsStore: measurements, winners and code objects.
#include "ktune/cache/ResultsStore.h"

#include "SqliteUtil.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <mutex>

namespace kt {

namespace {

using sqlite::inTransaction;
using sqlite::sqlError;
using sqlite::Stmt;

constexpr int kBusyTimeoutMs = 10000;

/// TuningRecord fields in declaration order, as measurement columns of a
/// file with schema `version` (version 1 has no launch column).
std::string recordColumns(int version) {
  return fmt::format(
      "m.problem_key, m.op, m.target, m.template_name, m.template_hash, "
      "m.params, m.status, m.message, m.time_ms, m.dispersion, m.warm_ms, "
      "m.iterations, m.max_error, m.device_model, m.device_features, "
      "m.compiler_fingerprint, m.binary_hash, m.created_unix, {}",
      version >= 2 ? "m.launch" : "''");
}

/// The winners' device model column (version 1 kept one winner per
/// (problem, target), whose model is its measurement's).
const char *winnerModel(int version) {
  return version >= 2 ? "w.device_model" : "COALESCE(m.device_model, '')";
}

void bindRecord(Stmt &s, const TuningRecord &r) {
  s.bind(1, r.problemKey);
  s.bind(2, r.op);
  s.bind(3, r.target);
  s.bind(4, r.templateName);
  s.bind(5, r.templateHash);
  s.bind(6, r.params);
  s.bind(7, r.status);
  s.bind(8, r.message);
  s.bind(9, r.timeMs);
  s.bind(10, r.dispersion);
  s.bind(11, r.warmMs);
  s.bind(12, r.iterations);
  s.bind(13, r.maxError);
  s.bind(14, r.deviceModel);
  s.bind(15, r.deviceFeatures);
  s.bind(16, r.compilerFingerprint);
  s.bind(17, r.binaryHash);
  s.bind(18, r.createdUnix);
  s.bind(19, r.launch);
}

TuningRecord readRecord(Stmt &s) {
  TuningRecord r;
  r.problemKey = s.text(0);
  r.op = s.text(1);
  r.target = s.text(2);
  r.templateName = s.text(3);
  r.templateHash = s.text(4);
  r.params = s.text(5);
  r.status = s.text(6);
  r.message = s.text(7);
  r.timeMs = s.real(8);
  r.dispersion = s.real(9);
  r.warmMs = s.real(10);
  r.iterations = s.integer(11);
  r.maxError = s.real(12);
  r.deviceModel = s.text(13);
  r.deviceFeatures = s.text(14);
  r.compilerFingerprint = s.text(15);
  r.binaryHash = s.text(16);
  r.createdUnix = s.integer(17);
  r.launch = s.text(18);
  return r;
}

class SqliteStore final : public ResultsStore {
public:
  SqliteStore(sqlite3 *db, std::string path, bool readOnly, int version)
      : db_(db), path_(std::move(path)), readOnly_(readOnly),
        version_(version) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  Status put(const TuningRecord &r) override { return putBatch({r}); }

  Status putBatch(const std::vector<TuningRecord> &records) override {
    for (const TuningRecord &r : records) {
      KT_RETURN_IF_ERROR(checkRecordFields(r));
    }
    std::lock_guard<std::mutex> lock(mu_);
    KT_RETURN_IF_ERROR(checkWritable());
    return inTransaction(db_, path_, [&]() -> Status {
      for (const TuningRecord &r : records) {
        KT_RETURN_IF_ERROR(insertLocked(r));
      }
      return Status::ok();
    });
  }

  Result<std::optional<TuningRecord>>
  winner(const std::string &problemKey, const std::string &target,
         const std::string &deviceModel) override {
    std::string sql = fmt::format(
        "SELECT {} FROM winners w JOIN measurements m ON m.id = "
        "w.measurement_id WHERE w.problem_key = ? AND w.target = ? AND (? = "
        "'' OR {} = ?) ORDER BY m.time_ms LIMIT 1",
        recordColumns(version_), winnerModel(version_));
    KT_ASSIGN_OR_RETURN(
        std::vector<TuningRecord> rs,
        query(sql, {problemKey, target, deviceModel, deviceModel}));
    if (rs.empty()) {
      return std::optional<TuningRecord>();
    }
    return std::optional<TuningRecord>(std::move(rs.front()));
  }

  Result<std::vector<TuningRecord>> winners() override {
    return query(fmt::format("SELECT {} FROM winners w JOIN measurements m ON "
                             "m.id = w.measurement_id ORDER BY w.problem_key, "
                             "w.target, {}",
                             recordColumns(version_), winnerModel(version_)),
                 {});
  }

  Result<std::vector<TuningRecord>>
  measurements(const std::string &problemKey,
               const std::string &target) override {
    return query(fmt::format("SELECT {} FROM measurements m WHERE "
                             "m.problem_key = ? AND m.target = ? ORDER BY m.id",
                             recordColumns(version_)),
                 {problemKey, target});
  }

  Status putBinary(const std::string &hash, const std::string &target,
                   const std::string &bytes) override {
    if (hash.empty()) {
      return invalidArgument(fmt::format(
          "cannot store a code object with an empty hash in '{}'", path_));
    }
    std::lock_guard<std::mutex> lock(mu_);
    KT_RETURN_IF_ERROR(checkWritable());
    return inTransaction(db_, path_, [&]() -> Status {
      Stmt s(db_);
      int rc = s.prepare("INSERT OR IGNORE INTO binaries(hash, target, bytes) "
                         "VALUES(?, ?, ?)");
      if (rc == SQLITE_OK) {
        s.bind(1, hash);
        s.bind(2, target);
        s.bindBlob(3, bytes);
        rc = s.step();
      }
      if (rc != SQLITE_DONE) {
        return sqlError(db_, rc, path_, "storing a code object");
      }
      return Status::ok();
    });
  }

  Result<std::optional<std::string>>
  getBinary(const std::string &hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_);
    int rc = s.prepare("SELECT bytes FROM binaries WHERE hash = ?");
    if (rc == SQLITE_OK) {
      s.bind(1, hash);
      rc = s.step();
    }
    if (rc == SQLITE_DONE) {
      return std::optional<std::string>();
    }
    if (rc != SQLITE_ROW) {
      return sqlError(db_, rc, path_, "reading a code object");
    }
    return std::optional<std::string>(s.text(0));
  }

  Status putMisses(const std::vector<MissRecord> &misses,
                   bool keepLarger) override {
    if (misses.empty()) {
      return Status::ok();
    }
    std::lock_guard<std::mutex> lock(mu_);
    KT_RETURN_IF_ERROR(checkWritable());
    return inTransaction(db_, path_, [&]() -> Status {
      for (const MissRecord &m : misses) {
        Stmt s(db_);
        int rc = s.prepare(fmt::format(
            "INSERT INTO misses(problem_key, target, device_model, count, "
            "first_unix, last_unix) VALUES(?, ?, ?, ?, ?, ?) ON "
            "CONFLICT(problem_key, target, device_model) DO UPDATE SET count "
            "= {}, first_unix = MIN(first_unix, excluded.first_unix), "
            "last_unix = MAX(last_unix, excluded.last_unix)",
            keepLarger ? "MAX(count, excluded.count)"
                       : "count + excluded.count"));
        if (rc == SQLITE_OK) {
          s.bind(1, m.problemKey);
          s.bind(2, m.target);
          s.bind(3, m.deviceModel);
          s.bind(4, m.count);
          s.bind(5, m.firstUnix);
          s.bind(6, m.lastUnix);
          rc = s.step();
        }
        if (rc != SQLITE_DONE) {
          return sqlError(db_, rc, path_, "recording lookup misses");
        }
      }
      return Status::ok();
    });
  }

  Result<std::vector<MissRecord>> misses() override {
    std::vector<MissRecord> out;
    if (version_ < 2) {
      return out; // Version 1 files recorded no misses.
    }
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_);
    int rc = s.prepare("SELECT problem_key, target, device_model, count, "
                       "first_unix, last_unix FROM misses ORDER BY target, "
                       "device_model, problem_key");
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      rc = s.step();
      if (rc == SQLITE_ROW) {
        out.push_back(MissRecord{s.text(0), s.text(1), s.text(2), s.integer(3),
                                 s.integer(4), s.integer(5)});
      }
    }
    if (rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "reading lookup misses");
    }
    return out;
  }

  Result<StoreCounts> counts() override {
    std::lock_guard<std::mutex> lock(mu_);
    StoreCounts out;
    Stmt st(db_);
    int rc = st.prepare("SELECT COALESCE(status, ''), COUNT(*) FROM "
                        "measurements GROUP BY 1 ORDER BY 1");
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      rc = st.step();
      if (rc == SQLITE_ROW) {
        out.byStatus.emplace_back(st.text(0), st.integer(1));
        out.measurements += st.integer(1);
      }
    }
    if (rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "counting measurements");
    }
    Stmt bin(db_);
    rc = bin.prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(bytes)), 0) FROM "
                     "binaries");
    if (rc == SQLITE_OK) {
      rc = bin.step();
    }
    if (rc != SQLITE_ROW) {
      return sqlError(db_, rc, path_, "counting code objects");
    }
    out.binaries = bin.integer(0);
    out.binaryBytes = bin.integer(1);
    return out;
  }

  int schemaVersion() const override { return version_; }
  const std::string &path() const override { return path_; }

private:
  Status checkRecordFields(const TuningRecord &r) const {
    if (r.problemKey.empty() || r.target.empty()) {
      return invalidArgument(fmt::format(
          "cannot store a record with problem key '{}' and target '{}' in "
          "'{}'; both must be set",
          r.problemKey, r.target, path_));
    }
    if (r.status == "ok" && !(std::isfinite(r.timeMs) && r.timeMs >= 0)) {
      return invalidArgument(fmt::format(
          "record for '{}' ({} {}) has status ok but time_ms={}; ok records "
          "need a measured, finite time",
          r.problemKey, r.templateName, r.params, r.timeMs));
    }
    return Status::ok();
  }

  /// Inserts one measurement and updates its winner; inside a transaction.
  Status insertLocked(const TuningRecord &r) {
    Stmt ins(db_);
    int rc = ins.prepare(
        "INSERT INTO measurements(problem_key, op, target, template_name, "
        "template_hash, params, status, message, time_ms, dispersion, "
        "warm_ms, iterations, max_error, device_model, device_features, "
        "compiler_fingerprint, binary_hash, created_unix, launch) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (rc == SQLITE_OK) {
      bindRecord(ins, r);
      rc = ins.step();
    }
    if (rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "inserting a measurement");
    }
    int64_t id = sqlite3_last_insert_rowid(db_);
    if (r.status != "ok") {
      return Status::ok();
    }
    Stmt cur(db_);
    rc = cur.prepare("SELECT m.time_ms, COALESCE(m.binary_hash, '') FROM "
                     "winners w JOIN measurements m "
                     "ON m.id = w.measurement_id WHERE w.problem_key = ? "
                     "AND w.target = ? AND w.device_model = ?");
    if (rc == SQLITE_OK) {
      cur.bind(1, r.problemKey);
      cur.bind(2, r.target);
      cur.bind(3, r.deviceModel);
      rc = cur.step();
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "reading the current winner");
    }
    // Faster wins; at equal time, a result with a code object replaces
    // one without (e.g. an imported CSV result, then the tuned file).
    if (rc == SQLITE_ROW && !(r.timeMs < cur.real(0)) &&
        !(r.timeMs == cur.real(0) && cur.text(1).empty() &&
          !r.binaryHash.empty())) {
      return Status::ok();
    }
    Stmt win(db_);
    rc = win.prepare("INSERT OR REPLACE INTO winners(problem_key, target, "
                     "device_model, measurement_id) VALUES(?, ?, ?, ?)");
    if (rc == SQLITE_OK) {
      win.bind(1, r.problemKey);
      win.bind(2, r.target);
      win.bind(3, r.deviceModel);
      win.bind(4, id);
      rc = win.step();
    }
    if (rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "updating the winner");
    }
    return Status::ok();
  }

  Status checkWritable() const {
    if (readOnly_) {
      return failedPrecondition(fmt::format(
          "results database '{}' was opened read-only; open it writable to "
          "store results",
          path_));
    }
    return Status::ok();
  }

  Result<std::vector<TuningRecord>>
  query(const std::string &sql, std::initializer_list<std::string> args) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_);
    int rc = s.prepare(sql);
    int i = 1;
    for (const std::string &a : args) {
      s.bind(i++, a);
    }
    std::vector<TuningRecord> out;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
      rc = s.step();
      if (rc == SQLITE_ROW) {
        out.push_back(readRecord(s));
      }
    }
    if (rc != SQLITE_DONE) {
      return sqlError(db_, rc, path_, "reading records");
    }
    return out;
  }

  std::mutex mu_;
  sqlite3 *db_;
  std::string path_;
  bool readOnly_;
  int version_;
};

} // namespace

Result<std::unique_ptr<ResultsStore>> openSqliteStore(const std::string &path,
                                                      bool readOnly) {
  namespace fs = std::filesystem;
  if (path.empty()) {
    return invalidArgument("results database path is empty; pass a file "
                           "name such as ktune-results.db");
  }
  std::error_code ec;
  bool exists = fs::exists(path, ec);
  if (exists && fs::is_directory(path, ec)) {
    return invalidArgument(fmt::format(
        "results database path '{}' is a directory; pass a file name", path));
  }
  if (!exists && readOnly) {
    return notFound(fmt::format(
        "results database '{}' does not exist; run tuning first or check the "
        "path",
        path));
  }
  if (!exists) {
    fs::path dir = fs::path(path).parent_path();
    std::string dirName = dir.empty() ? "." : dir.string();
    if (!fs::is_directory(dirName, ec)) {
      return notFound(fmt::format(
          "cannot create results database '{}': directory '{}' does not "
          "exist; create it or pass another path",
          path, dirName));
    }
    if (::access(dirName.c_str(), W_OK) != 0) {
      return failedPrecondition(fmt::format(
          "cannot create results database '{}': directory '{}' is not "
          "writable; fix its permissions or pass another path",
          path, dirName));
    }
  }
  int flags = readOnly ? SQLITE_OPEN_READONLY
                       : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3 *db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status st = sqlError(db, rc, path, "opening");
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  Result<int> version = sqlite::prepareDatabase(db, path, readOnly);
  if (!version.isOk()) {
    sqlite3_close_v2(db);
    return version.status();
  }
  return std::unique_ptr<ResultsStore>(
      std::make_unique<SqliteStore>(db, path, readOnly, *version));
}

Result<std::unique_ptr<ResultsStore>> openMemoryStore() {
  sqlite3 *db = nullptr;
  int rc = sqlite3_open_v2(":memory:", &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    Status st = sqlError(db, rc, "(memory)", "opening");
    sqlite3_close_v2(db);
    return st;
  }
  Result<int> version = sqlite::prepareDatabase(db, "(memory)", false);
  if (!version.isOk()) {
    sqlite3_close_v2(db);
    return version.status();
  }
  return std::unique_ptr<ResultsStore>(std::make_unique<SqliteStore>(
      db, "(in-memory results)", false, *version));
}

} // namespace kt
