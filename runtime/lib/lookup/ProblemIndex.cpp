// ProblemIndex: building the table (linear probing, load factor <= 1/2).
#include "ProblemIndex.h"

#include <algorithm>
#include <bit>

namespace kt::lookup {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  // One round of splitmix64 on the running hash plus the next field.
  uint64_t x = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

uint64_t hashGemmProblem(const GemmProblem &p) {
  uint64_t h = uint64_t(p.dtype) | (uint64_t(p.transA) << 8) |
               (uint64_t(p.transB) << 9) | (uint64_t(p.outF32) << 10);
  for (int64_t v : {p.m, p.n, p.k, p.lda, p.ldb, p.ldc}) {
    h = mix(h, uint64_t(v));
  }
  return h;
}

ProblemIndex::ProblemIndex(const std::vector<GemmProblem> &problems) {
  const uint64_t capacity =
      std::bit_ceil(std::max<uint64_t>(16, 2 * uint64_t(problems.size())));
  slots_ = std::make_unique<Slot[]>(capacity);
  slotOf_.assign(problems.size(), 0);
  mask_ = capacity - 1;
  for (size_t e = 0; e < problems.size(); ++e) {
    const GemmProblem &p = problems[e];
    const uint64_t h = hashGemmProblem(p);
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot &s = slots_[i];
      if (s.entry < 0) {
        s.hash = h;
        s.entry = int64_t(e);
        s.problem = p;
        slotOf_[e] = i;
        ++size_;
        break;
      }
      if (s.hash == h && s.problem == p) {
        slotOf_[e] = i; // A duplicate: the first entry's slot.
        break;
      }
    }
  }
}

} // namespace kt::lookup
