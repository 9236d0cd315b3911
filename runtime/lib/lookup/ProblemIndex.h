// ProblemIndex: an immutable open-addressing hash table from GEMM problems
// to entry numbers, built once when a context opens, whose slots also carry
// the entry's loaded kernel, so a hit reads one slot and nothing else.
// Lookups read it from many threads without locks or allocation.
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

struct kt_kernel;

namespace kt::lookup {

/// A 64-bit hash of every field of `p` (the fields its key is made of).
uint64_t hashGemmProblem(const GemmProblem &p);

class ProblemIndex {
public:
  /// Indexes `problems`; entry i is problems[i]. Duplicates keep the first.
  explicit ProblemIndex(const std::vector<GemmProblem> &problems);

  struct Slot {
    uint64_t hash = 0;
    int64_t entry = -1;
    /// The entry's kernel once it is loaded and usable (publish()).
    std::atomic<const kt_kernel *> kernel{nullptr};
    GemmProblem problem;
  };

  /// The slot of `p`, or nullptr if it is not indexed.
  const Slot *find(const GemmProblem &p) const {
    const uint64_t h = hashGemmProblem(p);
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot &s = slots_[i];
      if (s.entry < 0) {
        return nullptr;
      }
      if (s.hash == h && s.problem == p) {
        return &s;
      }
    }
  }

  /// Makes `kernel` what find() returns for entry `entry` (release order).
  void publish(int64_t entry, const kt_kernel *kernel) {
    slots_[slotOf_[entry]].kernel.store(kernel, std::memory_order_release);
  }

  size_t size() const { return size_; }

private:
  std::unique_ptr<Slot[]> slots_;
  std::vector<uint64_t> slotOf_; ///< Entry -> slot.
  uint64_t mask_ = 0;
  size_t size_ = 0;
};

} // namespace kt::lookup
