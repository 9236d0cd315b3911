// Shared test helper: the bf16 product a GPU GEMM should have written,
// computed on the host in double precision, and the count of elements of C
// outside the bf16 tolerance (2^-7 |ref| + 1e-4 sum |a b| + 1e-3; NaN never
// passes).
#pragma once

#include "ktune/problem/GemmProblem.h"
#include "support/HalfFloat.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace kt::test {

/// Elements of `c` (alpha = 1, beta = 0) that differ from op(A) op(B).
inline int countBf16Mismatches(const GemmProblem &p,
                               const std::vector<uint16_t> &a,
                               const std::vector<uint16_t> &b,
                               const std::vector<uint16_t> &c) {
  int bad = 0;
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      double acc = 0, mag = 0;
      for (int64_t kk = 0; kk < p.k; ++kk) {
        double x = fromBf16(p.transA ? a[kk * p.lda + i] : a[i * p.lda + kk]);
        double y = fromBf16(p.transB ? b[j * p.ldb + kk] : b[kk * p.ldb + j]);
        acc += x * y;
        mag += std::fabs(x * y);
      }
      double got = fromBf16(c[i * p.ldc + j]);
      double tol = std::ldexp(std::fabs(acc), -7) + 1e-4 * mag + 1e-3;
      bad += !(std::fabs(got - acc) <= tol);
    }
  }
  return bad;
}

} // namespace kt::test
