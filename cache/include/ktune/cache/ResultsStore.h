// ResultsStore: the tuned-results database (SQLite). Every measurement is
// kept; the winner per (problem, target, device model) is the fastest "ok"
// record, so results measured on several GPUs or hosts of one target live
// side by side in one file.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/cache/TuningRecord.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kt {

/// A problem that a runtime lookup asked for and found no tuned result for
/// (see kt.h); `ktune tune --from-misses` tunes them.
struct MissRecord {
  std::string problemKey;
  std::string target;
  std::string deviceModel;
  int64_t count = 0; ///< Lookups that missed.
  int64_t firstUnix = 0, lastUnix = 0;
};

/// What a results file holds, in numbers (for `ktune inspect`).
struct StoreCounts {
  int64_t measurements = 0;
  std::vector<std::pair<std::string, int64_t>> byStatus; ///< Sorted.
  int64_t binaries = 0, binaryBytes = 0;
};

/// Thread-safety: one ResultsStore may be used from many threads (calls are
/// serialised internally). Several processes may open the same file (WAL
/// mode, busy timeout). Every put() is its own committed transaction.
class ResultsStore {
public:
  virtual ~ResultsStore() = default;

  /// Records a measurement and updates the winner of its (problem, target,
  /// device model) if it is faster.
  virtual Status put(const TuningRecord &r) = 0;
  /// put() for many records in one transaction (all or none are stored).
  virtual Status putBatch(const std::vector<TuningRecord> &records) = 0;
  /// The winner for (problemKey, target) measured on `deviceModel`, or, if
  /// `deviceModel` is empty, the fastest winner of any device model; nullopt
  /// if there is none.
  virtual Result<std::optional<TuningRecord>>
  winner(const std::string &problemKey, const std::string &target,
         const std::string &deviceModel) = 0;
  /// All winners, ordered by problem key, target and device model.
  virtual Result<std::vector<TuningRecord>> winners() = 0;
  /// All measurements for one problem (any status).
  virtual Result<std::vector<TuningRecord>>
  measurements(const std::string &problemKey, const std::string &target) = 0;
  /// Stores a code object under its content hash (idempotent).
  virtual Status putBinary(const std::string &hash, const std::string &target,
                           const std::string &bytes) = 0;
  virtual Result<std::optional<std::string>>
  getBinary(const std::string &hash) = 0;
  /// Adds lookups that missed: counts add up (or, with keepLarger, the
  /// larger count stays, so merging one file twice counts it once), the
  /// first/last times widen. One transaction for the whole batch.
  virtual Status putMisses(const std::vector<MissRecord> &misses,
                           bool keepLarger = false) = 0;
  /// Recorded misses, ordered by target, device model and problem key.
  virtual Result<std::vector<MissRecord>> misses() = 0;
  virtual Result<StoreCounts> counts() = 0;
  /// The file's schema version (older files opened read-only keep theirs).
  virtual int schemaVersion() const = 0;
  /// The file this store reads; "(in-memory results)" for a memory store.
  virtual const std::string &path() const = 0;
};

/// Opens or creates a SQLite results file. A file that is not SQLite, or a
/// SQLite file without ktune's schema (foreign) or with a newer schema,
/// gives an error naming the file and what to do; nothing is modified.
Result<std::unique_ptr<ResultsStore>> openSqliteStore(const std::string &path,
                                                      bool readOnly = false);

/// A private, empty results store in memory (e.g. to read a CSV file into).
Result<std::unique_ptr<ResultsStore>> openMemoryStore();

} // namespace kt
