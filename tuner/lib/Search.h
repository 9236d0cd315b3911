// Candidate selection: the default configuration, a seeded sample of the
// space, then the neighbours of the best so far.
#pragma once

#include "ktune/cache/ResultsStore.h"
#include "ktune/problem/Config.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kt {

/// Ask/tell over a finite list of legal configurations.
class SampleThenRefine {
public:
  SampleThenRefine(std::vector<Config> space, const Config &initial, int budget,
                   uint64_t seed);
  /// Up to `n` configurations not proposed before; empty when done.
  std::vector<Config> next(int n);
  /// Reports a measured time (ms); failures are reported as nullopt.
  void report(const Config &c, std::optional<double> ms);
  int proposed() const { return int(seen_.size()); }

private:
  std::vector<Config> neighbours(const Config &c) const;

  std::vector<Config> space_;
  std::vector<Config> queue_; ///< Sample phase, in order.
  std::set<Config> seen_;
  int budget_;
  std::optional<Config> best_;
  double bestMs_ = 0;
};

/// The next batch of up to `n` configurations that `store` holds no
/// measurement of for (problemKey, target, family). Those already measured
/// (a resumed run) are reported to `search` as failures and counted in
/// `skipped`. Empty when the search is exhausted.
std::vector<Config> nextUnmeasured(SampleThenRefine &search, int n,
                                   ResultsStore &store,
                                   const std::string &problemKey,
                                   const std::string &target,
                                   const std::string &family, int &skipped);

} // namespace kt
