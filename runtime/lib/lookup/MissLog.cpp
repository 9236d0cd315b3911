// MissLog: counting misses per problem and handing them out for writing.
#include "MissLog.h"

#include "KernelHandle.h"

#include <ctime>

namespace kt::lookup {

MissLog::MissLog() = default;
MissLog::~MissLog() = default;

MissLog::Result MissLog::record(const GemmProblem &p,
                                const std::function<MissOutcome()> &resolve) {
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

std::vector<MissLog::Pending> MissLog::takePending() {
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

void MissLog::restore(const std::vector<Pending> &pending) {
  for (const Pending &p : pending) {
    Shard &shard = shardOf(p.problem);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.problems.find(p.problem);
    if (it != shard.problems.end()) {
      it->second.pending += p.count;
    }
  }
}

std::vector<MissLog::Summary> MissLog::summary() const {
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

} // namespace kt::lookup
