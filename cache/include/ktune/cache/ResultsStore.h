// ResultsStore: the tuned-results database (SQLite). Every measurement is
// kept; the winner per (problem, target) is the fastest "ok" record.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/TuningRecord.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kt {

/// Thread-safety: one ResultsStore may be used from many threads (calls are
/// serialised internally). Several processes may open the same file (WAL
/// mode, busy timeout). Every put() is its own committed transaction.
class ResultsStore {
public:
  virtual ~ResultsStore() = default;

  /// Records a measurement and updates the winner if it is faster.
  virtual Status put(const TuningRecord &r) = 0;
  /// The winner for (problemKey, target), or nullopt.
  virtual Result<std::optional<TuningRecord>>
  winner(const std::string &problemKey, const std::string &target) = 0;
  /// All winners, ordered by problem key.
  virtual Result<std::vector<TuningRecord>> winners() = 0;
  /// All measurements for one problem (any status).
  virtual Result<std::vector<TuningRecord>>
  measurements(const std::string &problemKey, const std::string &target) = 0;
  /// True if (problem, target, template, params) was already measured.
  virtual Result<bool> measured(const std::string &problemKey,
                                const std::string &target,
                                const std::string &templateName,
                                const std::string &params) = 0;
  /// Stores a code object under its content hash (idempotent).
  virtual Status putBinary(const std::string &hash, const std::string &target,
                           const std::string &bytes) = 0;
  virtual Result<std::optional<std::string>>
  getBinary(const std::string &hash) = 0;
};

/// Opens or creates a SQLite results file. A file that is not SQLite, or a
/// SQLite file without ktune's schema (foreign) or with a newer schema,
/// gives an error naming the file and what to do; nothing is modified.
Result<std::unique_ptr<ResultsStore>> openSqliteStore(const std::string &path,
                                                      bool readOnly = false);

} // namespace kt
