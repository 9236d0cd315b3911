// The nearest-tuned-shape fallback.
#include "Fallback.h"

#include <cmath>
#include <limits>

namespace kt::lookup {

double shapeDistance(const GemmProblem &a, const GemmProblem &b) {
  auto axis = [](int64_t x, int64_t y) {
    return std::abs(std::log2(double(x) / double(y)));
  };
  return axis(a.m, b.m) + axis(a.n, b.n) + axis(a.k, b.k);
}

int64_t nearestTunedShape(const GemmProblem &p,
                          const std::vector<FallbackCandidate> &candidates,
                          const std::function<bool(int64_t entry)> &legal) {
  int64_t best = -1;
  double bestDistance = std::numeric_limits<double>::infinity();
  for (const FallbackCandidate &c : candidates) {
    if (c.tuned.dtype != p.dtype || c.tuned.outF32 != p.outF32 ||
        c.tuned.transA != p.transA || c.tuned.transB != p.transB) {
      continue;
    }
    double d = shapeDistance(p, c.tuned);
    if (d < bestDistance && legal(c.entry)) {
      best = c.entry;
      bestDistance = d;
    }
  }
  return best;
}

} // namespace kt::lookup
