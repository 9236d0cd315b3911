// ProblemIndex: an immutable open-addressing hash table from GEMM problems
// to entry numbers, built once when a context opens. Lookups read it from
// many threads without locks or allocation.
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <vector>

namespace kt::lookup {

/// A 64-bit hash of every field of `p` (the fields its key is made of).
uint64_t hashGemmProblem(const GemmProblem &p);

class ProblemIndex {
public:
  /// Indexes `problems`; entry i is problems[i]. Duplicates keep the first.
  explicit ProblemIndex(const std::vector<GemmProblem> &problems);

  /// The entry number of `p`, or -1 if it is not indexed.
  int64_t find(const GemmProblem &p) const {
    const uint64_t h = hashGemmProblem(p);
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot &s = slots_[i];
      if (s.entry < 0) {
        return -1;
      }
      if (s.hash == h && s.problem == p) {
        return s.entry;
      }
    }
  }

  size_t size() const { return size_; }

private:
  /// The problem is kept in the slot, so a hit reads one or two cache lines.
  struct Slot {
    uint64_t hash = 0;
    int64_t entry = -1;
    GemmProblem problem;
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

} // namespace kt::lookup
