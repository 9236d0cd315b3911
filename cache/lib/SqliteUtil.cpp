// SQLite helpers: error mapping, write transactions, schema checks.
#include "SqliteUtil.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

namespace kt {
namespace sqlite {

namespace {

constexpr int kSchemaVersion = kCurrentSchemaVersion;
constexpr int kWriteAttempts = 6;

constexpr const char *kCreateSchema =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE measurements(id INTEGER PRIMARY KEY, problem_key TEXT NOT "
    "NULL, op TEXT, target TEXT NOT NULL, template_name TEXT, template_hash "
    "TEXT, params TEXT, status TEXT, message TEXT, time_ms REAL, dispersion "
    "REAL, warm_ms REAL, iterations INTEGER, max_error REAL, device_model "
    "TEXT, device_features TEXT, compiler_fingerprint TEXT, binary_hash TEXT, "
    "created_unix INTEGER, launch TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX measurements_problem_target ON measurements(problem_key, "
    "target);"
    "CREATE TABLE winners(problem_key TEXT NOT NULL, target TEXT NOT NULL, "
    "device_model TEXT NOT NULL, measurement_id INTEGER NOT NULL, "
    "PRIMARY KEY(problem_key, target, device_model));"
    "CREATE TABLE binaries(hash TEXT PRIMARY KEY, target TEXT, bytes BLOB);"
    "CREATE TABLE misses(problem_key TEXT NOT NULL, target TEXT NOT NULL, "
    "device_model TEXT NOT NULL, count INTEGER NOT NULL, first_unix INTEGER, "
    "last_unix INTEGER, PRIMARY KEY(problem_key, target, device_model));"
    "INSERT INTO meta(key, value) VALUES('schema_version', '2'), "
    "('application', 'ktune');";

/// Schema 1 -> 2: winners are kept per device model (so results from
/// several GPUs or hosts of one target coexist), measurements gain the
/// launch description, and lookups that found nothing are recorded.
constexpr const char *kMigrate1To2 =
    "ALTER TABLE measurements ADD COLUMN launch TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE winners2(problem_key TEXT NOT NULL, target TEXT NOT NULL, "
    "device_model TEXT NOT NULL, measurement_id INTEGER NOT NULL, "
    "PRIMARY KEY(problem_key, target, device_model));"
    "INSERT OR REPLACE INTO winners2 SELECT w.problem_key, w.target, "
    "COALESCE(m.device_model, ''), w.measurement_id FROM winners w JOIN "
    "measurements m ON m.id = w.measurement_id;"
    "DROP TABLE winners;"
    "ALTER TABLE winners2 RENAME TO winners;"
    "CREATE TABLE misses(problem_key TEXT NOT NULL, target TEXT NOT NULL, "
    "device_model TEXT NOT NULL, count INTEGER NOT NULL, first_unix INTEGER, "
    "last_unix INTEGER, PRIMARY KEY(problem_key, target, device_model));"
    "UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/// What an opened file holds: nothing yet, or ktune's schema (version).
struct DbKind {
  bool empty = true;
  int version = 0;
};

/// Inspects the file without modifying it.
Result<DbKind> classify(sqlite3 *db, const std::string &path) {
  Stmt tables(db);
  int rc = tables.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  if (rc == SQLITE_NOTADB) {
    return dataLoss(fmt::format(
        "'{}' is not a ktune results database (not SQLite): {}; pass a new "
        "file name or restore it",
        path, sqlite3_errmsg(db)));
  }
  std::vector<std::string> names;
  if (rc == SQLITE_OK) {
    while ((rc = tables.step()) == SQLITE_ROW) {
      names.push_back(tables.text(0));
    }
  }
  if (rc != SQLITE_DONE) {
    return sqlError(db, rc, path, "reading the table list");
  }
  if (names.empty()) {
    return DbKind{};
  }
  auto has = [&](std::string_view t) {
    return std::find(names.begin(), names.end(), t) != names.end();
  };
  Stmt meta(db);
  std::string application, version;
  if (has("meta") &&
      meta.prepare("SELECT key, value FROM meta WHERE key IN "
                   "('application', 'schema_version')") == SQLITE_OK) {
    while (meta.step() == SQLITE_ROW) {
      (meta.text(0) == "application" ? application : version) = meta.text(1);
    }
  }
  if (application != "ktune") {
    return failedPrecondition(fmt::format(
        "'{}' is a foreign database (a SQLite file with tables {} but no "
        "ktune meta record), not a ktune results database; it was left "
        "unchanged, pass a new file name",
        path, fmt::join(names, ", ")));
  }
  char *end = nullptr;
  long v = std::strtol(version.c_str(), &end, 10);
  if (version.empty() || *end != '\0' || v < 1) {
    return dataLoss(fmt::format(
        "ktune results database '{}' has an invalid schema_version '{}'; "
        "restore it from a backup or pass a new file name",
        path, version));
  }
  if (v > kSchemaVersion) {
    return failedPrecondition(fmt::format(
        "results database '{}' was written by a newer ktune (schema version "
        "{}, this ktune reads version {}); upgrade ktune or pass another file",
        path, v, kSchemaVersion));
  }
  for (const char *t : {"measurements", "winners", "binaries"}) {
    if (!has(t)) {
      return dataLoss(fmt::format(
          "ktune results database '{}' lacks its '{}' table; restore it from "
          "a backup or pass a new file name",
          path, t));
    }
  }
  return DbKind{false, static_cast<int>(v)};
}

void backoff(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
}

bool isBusy(int rc) {
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

} // namespace

Status inTransaction(sqlite3 *db, const std::string &path,
                     const std::function<Status()> &body) {
  Status last;
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      last = sqlError(db, rc, path, "starting a write transaction");
      if (isBusy(rc)) {
        backoff(attempt);
        continue;
      }
      return last;
    }
    last = body();
    if (last.isOk()) {
      rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) {
        return Status::ok();
      }
      last = sqlError(db, rc, path, "committing");
    }
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    // Only lock contention (mapped to Unavailable) is worth retrying.
    if (last.code() != StatusCode::Unavailable) {
      return last;
    }
    backoff(attempt);
  }
  return last;
}

Result<int> prepareDatabase(sqlite3 *db, const std::string &path,
                            bool readOnly) {
  KT_ASSIGN_OR_RETURN(DbKind kind, classify(db, path));
  if (readOnly) {
    if (kind.empty) {
      return failedPrecondition(fmt::format(
          "results database '{}' is empty; run tuning first or check the "
          "path",
          path));
    }
    // An older schema is read as it is; it is migrated when next opened
    // for writing.
    return kind.version;
  }
  if (sqlite3_db_readonly(db, "main") == 1) {
    return failedPrecondition(fmt::format(
        "results database '{}' is not writable; fix its permissions or open "
        "it read-only",
        path));
  }
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < kWriteAttempts && isBusy(rc); ++attempt) {
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (isBusy(rc)) {
      backoff(attempt);
    }
  }
  if (rc != SQLITE_OK) {
    return sqlError(db, rc, path, "enabling WAL mode");
  }
  if (!kind.empty && kind.version == kSchemaVersion) {
    return kind.version;
  }
  KT_RETURN_IF_ERROR(inTransaction(db, path, [&]() -> Status {
    // Another process may have created or migrated the schema meanwhile.
    KT_ASSIGN_OR_RETURN(DbKind now, classify(db, path));
    const char *sql = nullptr;
    if (now.empty) {
      sql = kCreateSchema;
    } else if (now.version == 1) {
      sql = kMigrate1To2;
    } else {
      return Status::ok();
    }
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return sqlError(db, rc, path,
                      now.empty ? "creating the schema"
                                : "upgrading the schema from version 1");
    }
    return Status::ok();
  }));
  return kSchemaVersion;
}

Status sqlError(sqlite3 *db, int rc, const std::string &path,
                std::string_view what) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string msg =
      fmt::format("results database '{}': {} failed: {}", path, what, detail);
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return unavailable(msg + "; another process holds the lock, retry later");
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return dataLoss(msg + "; restore the file or pass a new file name");
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_PERM:
    return failedPrecondition(
        msg + "; check that the file and its directory are writable");
  case SQLITE_FULL:
    return failedPrecondition(msg + "; free some disk space and retry");
  case SQLITE_IOERR:
    return dataLoss(msg + "; check the disk and the file system");
  default:
    return internalError(msg);
  }
}

} // namespace sqlite
} // namespace kt
