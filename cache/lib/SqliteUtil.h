// SQLite helpers shared by the results store: statements, errors, schema.
#pragma once

#include "ktune/base/Status.h"

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

namespace kt {
namespace sqlite {

/// A prepared statement that finalizes itself.
class Stmt {
public:
  explicit Stmt(sqlite3 *db) : db_(db) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt &) = delete;
  Stmt &operator=(const Stmt &) = delete;

  int prepare(const std::string &sql) {
    return sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr);
  }
  void bind(int i, const std::string &s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()),
                      SQLITE_TRANSIENT);
  }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bindBlob(int i, const std::string &s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()),
                      SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) {
    const void *p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char *>(p), n) : std::string();
  }
  /// NULL reads as NaN (SQLite stores NaN as NULL).
  double real(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) {
      return std::numeric_limits<double>::quiet_NaN();
    }
    return sqlite3_column_double(stmt_, col);
  }
  int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }

private:
  sqlite3 *db_;
  sqlite3_stmt *stmt_ = nullptr;
};

/// Maps a SQLite failure to a Status naming the file and what to do.
Status sqlError(sqlite3 *db, int rc, const std::string &path,
                std::string_view what);

/// Runs `body` in a BEGIN IMMEDIATE transaction, retrying while another
/// connection holds the write lock (SQLITE_BUSY).
Status inTransaction(sqlite3 *db, const std::string &path,
                     const std::function<Status()> &body);

/// The schema version this ktune writes.
constexpr int kCurrentSchemaVersion = 2;

/// Checks an opened file without modifying a foreign or corrupt one, then
/// (unless read-only) enables WAL and creates the schema if it has no tables
/// or upgrades an older one. Returns the file's schema version (older
/// versions stay as they are when read-only).
Result<int> prepareDatabase(sqlite3 *db, const std::string &path,
                            bool readOnly);

} // namespace sqlite
} // namespace kt
