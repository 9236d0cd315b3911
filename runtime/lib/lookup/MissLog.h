// MissLog: the problems lookups asked for and found no tuned kernel for,
// with what they were told, counted per problem and kept until they are
// written out (to the results file's misses table or a TunableOp untuned
// CSV) so `ktune tune --from-misses` can tune exactly those.
#pragma once

#include "ProblemIndex.h"

#include "ktune/base/Status.h"
#include "ktune/problem/GemmProblem.h"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

struct kt_kernel;

namespace kt::lookup {

/// What a missed problem gets: a fallback kernel (owned by the log), or
/// the NotFound status that says why not.
struct MissOutcome {
  std::unique_ptr<kt_kernel> fallback;
  Status failure;
};

/// Thread-safety: record() may be called from many threads; problems are
/// spread over shards so unrelated misses do not wait on each other.
class MissLog {
public:
  MissLog();
  ~MissLog();

  /// Counts one lookup of `p`. The first time `p` is seen, `resolve` decides
  /// its outcome (called once, under the shard's lock). Returns the
  /// fallback kernel or the failure, the same every time.
  struct Result {
    const kt_kernel *fallback;
    const Status *failure;
  };
  Result record(const GemmProblem &p,
                const std::function<MissOutcome()> &resolve);

  /// A problem's lookups not yet written out.
  struct Pending {
    GemmProblem problem;
    int64_t count = 0;
    int64_t firstUnix = 0, lastUnix = 0;
  };
  /// Takes the counts not yet written out; give them back with
  /// restore() if writing them fails.
  std::vector<Pending> takePending();
  void restore(const std::vector<Pending> &pending);

  /// Every missed problem with its total count, whether it fell back and,
  /// if not, why; for reports.
  struct Summary {
    GemmProblem problem;
    int64_t count = 0;
    bool fellBack = false;
    std::string reason;
  };
  std::vector<Summary> summary() const;

private:
  struct Info {
    MissOutcome outcome;
    int64_t count = 0;   ///< Every lookup.
    int64_t pending = 0; ///< Not yet written out.
    int64_t firstUnix = 0, lastUnix = 0;
  };
  struct Hash {
    size_t operator()(const GemmProblem &p) const {
      return size_t(hashGemmProblem(p));
    }
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<GemmProblem, Info, Hash> problems;
  };
  static constexpr size_t kShards = 16;
  Shard &shardOf(const GemmProblem &p) {
    return shards_[hashGemmProblem(p) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

} // namespace kt::lookup
