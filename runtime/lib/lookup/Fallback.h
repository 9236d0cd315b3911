// The fallback policy for a lookup that finds no tuned result for its exact
// problem (docs/c-api.md, "Misses and fallbacks").
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace kt::lookup {

/// A tuned problem whose kernel takes its sizes at launch (shape-generic),
/// so it can run other problems of the same dtype and layout.
struct FallbackCandidate {
  int64_t entry = -1;
  GemmProblem tuned;
};

/// How far apart two shapes are: the sum over m, n and k of |log2(a / b)|,
/// so 2x too large and 2x too small count the same, on every axis.
double shapeDistance(const GemmProblem &a, const GemmProblem &b);

/// The candidate nearest to `p` (shapeDistance) among those with p's dtype
/// and layout for which `legal(entry)` holds; ties go to the earlier
/// candidate. -1 if there is none: the caller's default is then used.
int64_t nearestTunedShape(const GemmProblem &p,
                          const std::vector<FallbackCandidate> &candidates,
                          const std::function<bool(int64_t entry)> &legal);

} // namespace kt::lookup
