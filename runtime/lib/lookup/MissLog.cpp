// Hashing attention problems (the attention index and miss log).
#include "MissLog.h"

#include <functional>

namespace kt::lookup {

size_t AttentionProblemHasher::operator()(const AttentionProblem &p) const {
  // Every field, mixed like hashGemmProblem (no string, no allocation).
  size_t h =
      std::hash<uint64_t>()(uint64_t(p.dtype) | (uint64_t(p.layout) << 8) |
                            (uint64_t(p.causal) << 16));
  for (int64_t v : {p.batch, p.hq, p.hkv, p.sq, p.skv, p.d}) {
    h ^= std::hash<uint64_t>()(uint64_t(v)) + 0x9e3779b97f4a7c15ULL + (h << 6) +
         (h >> 2);
  }
  return h;
}

} // namespace kt::lookup
