// Shared test helper: the product a GPU GEMM should have written (bf16
// inputs), computed on the host in double precision, and the count of
// elements of C outside the tolerance of C's type:
//   bf16 C: 2^-7 |ref| + 1e-4 sum |a b| + 1e-3 (output rounding dominates);
//   f32 C (f32out): 2^-16 |ref| + 1e-5 sum |a b| + 1e-5, tight enough that
//   a kernel rounding C through bf16 fails.
// NaN never passes.
#pragma once

#include "ktune/problem/GemmProblem.h"
#include "support/HalfFloat.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace kt::test {

/// Elements of C (alpha = 1, beta = 0) that differ from op(A) op(B); `got`
/// (i, j) reads C as a double.
template <typename Got>
int countGemmMismatches(const GemmProblem &p, const std::vector<uint16_t> &a,
                        const std::vector<uint16_t> &b, Got got) {
  const bool f32 = p.outF32;
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
      const double tol =
          f32 ? std::ldexp(std::fabs(acc), -16) + 1e-5 * mag + 1e-5
              : std::ldexp(std::fabs(acc), -7) + 1e-4 * mag + 1e-3;
      bad += !(std::fabs(got(i, j) - acc) <= tol);
    }
  }
  return bad;
}

/// C as bf16 bits (p.outF32 false).
inline int countBf16Mismatches(const GemmProblem &p,
                               const std::vector<uint16_t> &a,
                               const std::vector<uint16_t> &b,
                               const std::vector<uint16_t> &c) {
  return countGemmMismatches(p, a, b, [&](int64_t i, int64_t j) {
    return double(fromBf16(c[size_t(i * p.ldc + j)]));
  });
}

/// C as floats (p.outF32 true).
inline int countF32Mismatches(const GemmProblem &p,
                              const std::vector<uint16_t> &a,
                              const std::vector<uint16_t> &b,
                              const std::vector<float> &c) {
  return countGemmMismatches(p, a, b, [&](int64_t i, int64_t j) {
    return double(c[size_t(i * p.ldc + j)]);
  });
}

} // namespace kt::test
