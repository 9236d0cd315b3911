// Attention measurement helpers: rotating inputs, the OpenBLAS reference,
// the numerics check and loaded kernels.
#include "ktune/tuner/AttentionBench.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace kt {

namespace {

void fill(std::vector<float> &v, std::mt19937_64 &rng, float range) {
  std::uniform_real_distribution<float> d(-range, range);
  for (float &x : v) {
    x = d(rng);
  }
}

/// Query rows per reference chunk: bounds the score buffer to chunk x skv.
constexpr int64_t kRefChunk = 256;

} // namespace

RotatingAttentionArgs::RotatingAttentionArgs(const AttentionProblem &p,
                                             int64_t bytes, uint64_t seed) {
  const int64_t setBytes =
      (2 * p.qElements() + 2 * p.kvElements()) * int64_t(sizeof(float));
  const int64_t n = std::max<int64_t>(2, (bytes + setBytes - 1) / setBytes);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    q_.emplace_back(p.qElements());
    k_.emplace_back(p.kvElements());
    v_.emplace_back(p.kvElements());
    o_.emplace_back(p.qElements());
    fill(q_.back(), rng, 2.0f);
    fill(k_.back(), rng, 2.0f);
    fill(v_.back(), rng, 1.0f);
  }
}

void referenceAttention(const AttentionProblem &p, const float *q,
                        const float *k, const float *v, float *o, float scale,
                        bool gemmsOnly) {
  const bool bshd = p.layout == AttentionProblem::Layout::BSHD;
  const int qRow = int(bshd ? p.hq * p.d : p.d);
  const int kvRow = int(bshd ? p.hkv * p.d : p.d);
  const int64_t group = p.hq / p.hkv;
  std::vector<float> s(size_t(std::min(kRefChunk, p.sq) * p.skv));
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.hq; ++h) {
      const float *kh = k + p.kvOffset(b, h / group, 0);
      const float *vh = v + p.kvOffset(b, h / group, 0);
      for (int64_t i0 = 0; i0 < p.sq; i0 += kRefChunk) {
        const int rows = int(std::min(kRefChunk, p.sq - i0));
        const float *qi = q + p.qOffset(b, h, i0);
        float *oi = o + p.qOffset(b, h, i0);
        // S = scale * Q K^T for the chunk.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, int(p.skv),
                    int(p.d), scale, qi, qRow, kh, kvRow, 0.0f, s.data(),
                    int(p.skv));
        // Masked softmax per row; rows without keys become zeros.
        for (int r = 0; r < rows && !gemmsOnly; ++r) {
          float *sr = &s[size_t(r) * size_t(p.skv)];
          const int64_t lim = p.keyLimit(i0 + r);
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < lim; ++j) {
            mx = std::max(mx, sr[j]);
          }
          double sum = 0;
          for (int64_t j = 0; j < lim; ++j) {
            sr[j] = std::exp(sr[j] - mx);
            sum += sr[j];
          }
          const float inv = lim > 0 ? float(1.0 / sum) : 0.0f;
          for (int64_t j = 0; j < p.skv; ++j) {
            sr[j] = j < lim ? sr[j] * inv : 0.0f;
          }
        }
        // O = P V.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, int(p.d),
                    int(p.skv), 1.0f, s.data(), int(p.skv), vh, kvRow, 0.0f, oi,
                    qRow);
      }
    }
  }
}

Result<double> checkAttention(const AttentionRunFn &run,
                              const AttentionProblem &p, uint64_t seed) {
  RotatingAttentionArgs args(p, 0, seed);
  std::vector<float> ref(size_t(p.qElements()));
  std::fill(args.o(0), args.o(0) + p.qElements(),
            std::numeric_limits<float>::quiet_NaN());
  const float scale = 1.0f / std::sqrt(float(p.d));
  run(args.q(0), args.k(0), args.v(0), args.o(0), scale);
  referenceAttention(p, args.q(0), args.k(0), args.v(0), ref.data(), scale);
  // Outputs are weighted means of V rows (|v| <= 1). Two f32 softmaxes of
  // the same scores differ by a few ulps per weight, accumulating like
  // sqrt(skv); a dropped key or a wrong mask moves an output by about
  // 1/skv of a V row or more.
  const double tol = 2e-5 * (1.0 + std::sqrt(double(p.skv) / 1024.0));
  double worst = 0;
  for (int64_t i = 0; i < p.qElements(); ++i) {
    const double got = args.o(0)[i];
    const double err = std::fabs(got - double(ref[size_t(i)]));
    if (!(err <= tol)) {
      const int64_t row = i / p.d;
      return invalidArgument(fmt::format(
          "{}: output element {} (row {}, column {}) is {} but the reference "
          "is {} (tolerance {:.2g}){}",
          p.key(), i, row, i % p.d, got, ref[size_t(i)], tol,
          std::isnan(got) ? "; the kernel did not write it" : ""));
    }
    worst = std::max(worst, err / tol);
  }
  return worst;
}

AttentionRunFn LoadedAttention::runner(CpuDevice &device) const {
  CpuAttentionBlockFn f = fn;
  int64_t n = blocks;
  CpuDevice *dev = &device;
  return [f, n, dev](const float *q, const float *k, const float *v, float *o,
                     float scale) {
    dev->pool().parallelFor(n, [&](int64_t b) { f(q, k, v, o, scale, b); });
  };
}

Result<LoadedAttention> loadAttention(const CpuDevice &device,
                                      const std::string &bytes) {
  LoadedAttention out;
  KT_ASSIGN_OR_RETURN(out.module, device.loadModule(bytes));
  KT_ASSIGN_OR_RETURN(void *fn, out.module->function(kCpuAttentionSymbol));
  KT_ASSIGN_OR_RETURN(void *blocks,
                      out.module->function(kCpuAttentionBlocksSymbol));
  out.fn = reinterpret_cast<CpuAttentionBlockFn>(fn);
  out.blocks = reinterpret_cast<CpuBlocksFn>(blocks)();
  if (out.blocks <= 0) {
    return internalError(
        fmt::format("the attention code object reports {} blocks", out.blocks));
  }
  return out;
}

} // namespace kt
