// Shared test helper: a straightforward double-precision attention reference
// (AttentionProblem's definition, causal rows without keys give 0) and
// random inputs.
#pragma once

#include "ktune/problem/AttentionProblem.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace kt::test {

/// The problem of those fields (softmax scale left to the kernels'
/// default).
inline AttentionProblem attentionProblem(DType dt,
                                         AttentionProblem::Layout layout,
                                         int64_t b, int64_t hq, int64_t hkv,
                                         int64_t sq, int64_t skv, int64_t d,
                                         bool causal) {
  AttentionProblem p;
  p.dtype = dt;
  p.layout = layout;
  p.batch = b;
  p.hq = hq;
  p.hkv = hkv;
  p.sq = sq;
  p.skv = skv;
  p.d = d;
  p.causal = causal;
  return p;
}

inline std::vector<float> randomTensor(int64_t n, std::mt19937 &rng,
                                       float range = 1.0f) {
  std::uniform_real_distribution<float> dist(-range, range);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v) {
    x = dist(rng);
  }
  return v;
}

/// O for `p` in double, laid out like Q.
inline std::vector<double> attentionReference(const AttentionProblem &p,
                                              const std::vector<float> &q,
                                              const std::vector<float> &k,
                                              const std::vector<float> &v,
                                              double scale) {
  std::vector<double> out(size_t(p.qElements()), 0.0);
  const int64_t group = p.hq / p.hkv;
  std::vector<double> s(size_t(p.skv));
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.hq; ++h) {
      const int64_t kvh = h / group;
      for (int64_t i = 0; i < p.sq; ++i) {
        const int64_t lim = p.keyLimit(i);
        double *o = &out[size_t(p.qOffset(b, h, i))];
        if (lim == 0) {
          continue; // Sees no key: 0.
        }
        const float *qi = &q[size_t(p.qOffset(b, h, i))];
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < lim; ++j) {
          const float *kj = &k[size_t(p.kvOffset(b, kvh, j))];
          double dot = 0;
          for (int64_t e = 0; e < p.d; ++e) {
            dot += double(qi[e]) * double(kj[e]);
          }
          s[size_t(j)] = dot * scale;
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (int64_t j = 0; j < lim; ++j) {
          s[size_t(j)] = std::exp(s[size_t(j)] - mx);
          sum += s[size_t(j)];
        }
        for (int64_t j = 0; j < lim; ++j) {
          const float *vj = &v[size_t(p.kvOffset(b, kvh, j))];
          for (int64_t e = 0; e < p.d; ++e) {
            o[e] += s[size_t(j)] / sum * double(vj[e]);
          }
        }
      }
    }
  }
  return out;
}

} // namespace kt::test
