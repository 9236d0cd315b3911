// Shared test helper: a packed row-major GEMM problem from a layout string.
#pragma once

#include "ktune/problem/GemmProblem.h"

namespace kt::test {

/// `layout` is "NN", "NT", "TN" or "TT" (A letter then B letter).
inline GemmProblem gemmProblem(const char *layout, int64_t m, int64_t n,
                               int64_t k, DType dtype = DType::F32) {
  GemmProblem p;
  p.dtype = dtype;
  p.transA = layout[0] == 'T';
  p.transB = layout[1] == 'T';
  p.m = m;
  p.n = n;
  p.k = k;
  p.setDefaultLeadingDims();
  return p;
}

} // namespace kt::test
