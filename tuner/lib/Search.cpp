// Sample-then-refine search over a template's legal configurations.
#include "Search.h"

#include <algorithm>
#include <map>
#include <random>

namespace kt {

SampleThenRefine::SampleThenRefine(std::vector<Config> space,
                                   const Config &initial, int budget,
                                   uint64_t seed)
    : space_(std::move(space)), budget_(budget) {
  if (std::find(space_.begin(), space_.end(), initial) != space_.end()) {
    queue_.push_back(initial);
  }
  std::vector<Config> shuffled = space_;
  std::mt19937_64 rng(seed);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  // Two thirds of the budget explore, the rest refines around the best.
  const size_t explore = size_t(std::max(1, budget * 2 / 3));
  for (const Config &c : shuffled) {
    if (queue_.size() >= explore) {
      break;
    }
    if (c != initial) {
      queue_.push_back(c);
    }
  }
}

std::vector<Config> SampleThenRefine::next(int n) {
  std::vector<Config> out;
  auto take = [&](const Config &c) {
    if (int(seen_.size()) < budget_ && int(out.size()) < n &&
        seen_.insert(c).second) {
      out.push_back(c);
    }
  };
  for (const Config &c : queue_) {
    take(c);
  }
  if (out.empty() && best_) {
    for (const Config &c : neighbours(*best_)) {
      take(c);
    }
  }
  return out;
}

void SampleThenRefine::report(const Config &c, std::optional<double> ms) {
  if (ms && (!best_ || *ms < bestMs_)) {
    best_ = c;
    bestMs_ = *ms;
  }
}

std::vector<Config> SampleThenRefine::neighbours(const Config &c) const {
  // Configurations of the space that differ from `c` in exactly one
  // parameter, nearest values first.
  std::vector<std::pair<double, Config>> scored;
  for (const Config &o : space_) {
    int diffs = 0;
    double dist = 0;
    for (const auto &[k, v] : c.values()) {
      int64_t w = o.get(k, v);
      if (w != v) {
        ++diffs;
        dist += std::abs(double(w - v)) / double(std::max<int64_t>(1, v));
      }
    }
    if (diffs == 1) {
      scored.push_back({dist, o});
    }
  }
  std::sort(scored.begin(), scored.end(),
            [](const auto &x, const auto &y) { return x.first < y.first; });
  std::vector<Config> out;
  for (auto &s : scored) {
    out.push_back(std::move(s.second));
  }
  return out;
}

std::vector<Config> nextUnmeasured(SampleThenRefine &search, int n,
                                   ResultsStore &store,
                                   const std::string &problemKey,
                                   const std::string &target,
                                   const std::string &family, int &skipped) {
  // What an earlier run measured, with its time: the search refines around
  // it as that run did, so a resumed run follows the same path instead of
  // wandering off to configurations the first run never proposed.
  std::map<std::string, std::optional<double>> earlier;
  if (auto all = store.measurements(problemKey, target); all.isOk()) {
    for (const TuningRecord &r : *all) {
      if (r.templateName == family) {
        earlier[r.params] = r.status == "ok" ? std::optional(r.timeMs)
                                             : std::optional<double>();
      }
    }
  }
  for (;;) {
    std::vector<Config> proposed = search.next(n);
    if (proposed.empty()) {
      return {};
    }
    std::vector<Config> batch;
    for (Config &c : proposed) {
      if (auto seen = earlier.find(c.toString()); seen != earlier.end()) {
        ++skipped;
        search.report(c, seen->second);
        continue;
      }
      batch.push_back(std::move(c));
    }
    if (!batch.empty()) {
      return batch;
    }
  }
}

} // namespace kt
