// MissLog: the problems lookups asked for and found no tuned kernel for,
// with what they were told, counted per problem and kept until they are
// written out (to the results file's misses table or a TunableOp untuned
// CSV) so `ktune tune --from-misses` can tune exactly those.
#pragma once

#include "ProblemIndex.h"

#include "ktune/base/Status.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"

#include <ctime>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "KernelHandle.h"

namespace kt::lookup {

/// What a missed problem gets: a fallback kernel (owned by the log), or
/// the NotFound status that says why not.
struct MissOutcome {
  std::unique_ptr<kt_kernel> fallback;
  Status failure;
};

/// Thread-safety: record() may be called from many threads; problems are
/// spread over shards so unrelated misses do not wait on each other.
/// `Problem` is GemmProblem or AttentionProblem; `Hash` hashes it.
template <typename Problem, typename Hash> class MissLogT {
public:
  /// Counts one lookup of `p`. The first time `p` is seen, `resolve` decides
  /// its outcome (called once, under the shard's lock). Returns the
  /// fallback kernel or the failure, the same every time.
  struct Result {
    const kt_kernel *fallback;
    const Status *failure;
  };
  Result record(const Problem &p, const std::function<MissOutcome()> &resolve) {
    const int64_t now = int64_t(std::time(nullptr));
    Shard &shard = shardOf(p);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto [it, inserted] = shard.problems.try_emplace(p);
    Info &info = it->second;
    if (inserted) {
      info.outcome = resolve();
      info.firstUnix = now;
    }
    ++info.count;
    ++info.pending;
    info.lastUnix = now;
    return Result{info.outcome.fallback.get(), &info.outcome.failure};
  }

  /// A problem's lookups not yet written out.
  struct Pending {
    Problem problem;
    int64_t count = 0;
    int64_t firstUnix = 0, lastUnix = 0;
  };
  /// Takes the counts not yet written out; give them back with
  /// restore() if writing them fails.
  std::vector<Pending> takePending() {
    std::vector<Pending> out;
    for (Shard &shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (auto &[problem, info] : shard.problems) {
        if (info.pending > 0) {
          out.push_back(
              Pending{problem, info.pending, info.firstUnix, info.lastUnix});
          info.pending = 0;
        }
      }
    }
    return out;
  }
  void restore(const std::vector<Pending> &pending) {
    for (const Pending &p : pending) {
      Shard &shard = shardOf(p.problem);
      std::lock_guard<std::mutex> lock(shard.mu);
      auto it = shard.problems.find(p.problem);
      if (it != shard.problems.end()) {
        it->second.pending += p.count;
      }
    }
  }

  /// Every missed problem with its total count, whether it fell back and,
  /// if not, why; for reports.
  struct Summary {
    Problem problem;
    int64_t count = 0;
    bool fellBack = false;
    std::string reason;
  };
  std::vector<Summary> summary() const {
    std::vector<Summary> out;
    for (const Shard &shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const auto &[problem, info] : shard.problems) {
        out.push_back(Summary{problem, info.count,
                              info.outcome.fallback != nullptr,
                              info.outcome.failure.message()});
      }
    }
    return out;
  }

private:
  struct Info {
    MissOutcome outcome;
    int64_t count = 0;   ///< Every lookup.
    int64_t pending = 0; ///< Not yet written out.
    int64_t firstUnix = 0, lastUnix = 0;
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::unordered_map<Problem, Info, Hash> problems;
  };
  static constexpr size_t kShards = 16;
  Shard &shardOf(const Problem &p) { return shards_[Hash()(p) % kShards]; }
  std::array<Shard, kShards> shards_;
};

struct GemmProblemHasher {
  size_t operator()(const GemmProblem &p) const {
    return size_t(hashGemmProblem(p));
  }
};
struct AttentionProblemHasher {
  size_t operator()(const AttentionProblem &p) const;
};

using MissLog = MissLogT<GemmProblem, GemmProblemHasher>;
using AttentionMissLog = MissLogT<AttentionProblem, AttentionProblemHasher>;

} // namespace kt::lookup
