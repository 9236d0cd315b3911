// Attention measurement helpers: rotating inputs, the OpenBLAS reference,
// the numerics check and loaded kernels.
#include "ktune/tuner/AttentionBench.h"

#include "ktune/problem/DType.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace kt {

namespace {

/// bf16 bits of `f`, rounded to nearest even.
uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

/// `n` seeded uniform values in [-range, range] stored as `dtype`.
std::vector<char> filled(int64_t n, DType dtype, std::mt19937_64 &rng,
                         float range) {
  std::uniform_real_distribution<float> d(-range, range);
  std::vector<char> out(size_t(n) * size_t(dtypeSize(dtype)));
  for (int64_t i = 0; i < n; ++i) {
    float x = d(rng);
    if (dtype == DType::BF16) {
      uint16_t h = toBf16(x);
      std::memcpy(&out[size_t(i) * 2], &h, 2);
    } else {
      std::memcpy(&out[size_t(i) * 4], &x, 4);
    }
  }
  return out;
}

/// Query rows per reference chunk: bounds the score buffer to chunk x skv.
constexpr int64_t kRefChunk = 256;

} // namespace

RotatingAttentionArgs::RotatingAttentionArgs(const AttentionProblem &p,
                                             int64_t bytes, uint64_t seed) {
  const int64_t setBytes =
      (2 * p.qElements() + 2 * p.kvElements()) * int64_t(dtypeSize(p.dtype));
  const int64_t n = std::max<int64_t>(2, (bytes + setBytes - 1) / setBytes);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    q_.push_back(filled(p.qElements(), p.dtype, rng, 2.0f));
    k_.push_back(filled(p.kvElements(), p.dtype, rng, 2.0f));
    v_.push_back(filled(p.kvElements(), p.dtype, rng, 1.0f));
    o_.emplace_back(size_t(p.qElements()) * size_t(dtypeSize(p.dtype)));
  }
}

std::vector<float> attentionToFloat(const void *data, int64_t n, DType dtype) {
  std::vector<float> out(static_cast<size_t>(n));
  const char *bytes = static_cast<const char *>(data);
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DType::BF16) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * i, 2);
      uint32_t u = uint32_t(h) << 16;
      std::memcpy(&out[size_t(i)], &u, 4);
    } else {
      std::memcpy(&out[size_t(i)], bytes + 4 * i, 4);
    }
  }
  return out;
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
                              const AttentionProblem &p, uint64_t seed,
                              double pRounding) {
  RotatingAttentionArgs args(p, 0, seed);
  // Poison O: NaN in every element (0x7FC0 is a bf16 NaN, in both halves).
  if (p.dtype == DType::BF16) {
    std::fill_n(static_cast<uint16_t *>(args.o(0)), p.qElements(),
                uint16_t(0x7FC0));
  } else {
    std::fill_n(static_cast<float *>(args.o(0)), p.qElements(),
                std::numeric_limits<float>::quiet_NaN());
  }
  const float scale = 1.0f / std::sqrt(float(p.d));
  run(args.q(0), args.k(0), args.v(0), args.o(0), scale);
  // The reference on the same (rounded) inputs, in f32.
  std::vector<float> q = attentionToFloat(args.q(0), p.qElements(), p.dtype);
  std::vector<float> k = attentionToFloat(args.k(0), p.kvElements(), p.dtype);
  std::vector<float> v = attentionToFloat(args.v(0), p.kvElements(), p.dtype);
  std::vector<float> o = attentionToFloat(args.o(0), p.qElements(), p.dtype);
  std::vector<float> ref(size_t(p.qElements()));
  referenceAttention(p, q.data(), k.data(), v.data(), ref.data(), scale);
  // Rounded probabilities: the outputs' magnitudes sum_j p_j |v_j| / l.
  std::vector<float> mag;
  if (pRounding > 0) {
    std::vector<float> absV(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      absV[i] = std::fabs(v[i]);
    }
    mag.resize(ref.size());
    referenceAttention(p, q.data(), k.data(), absV.data(), mag.data(), scale);
  }
  // Outputs are weighted means of V rows (|v| <= 1). Two f32 softmaxes of
  // the same scores differ by a few ulps per weight, accumulating like
  // sqrt(skv); a dropped key or a wrong mask moves an output by about
  // 1/skv of a V row or more. A bf16 output adds its rounding (2^-8
  // relative).
  const double base = 2e-5 * (1.0 + std::sqrt(double(p.skv) / 1024.0));
  const double rel = p.dtype == DType::BF16 ? std::ldexp(1.0, -8) : 0.0;
  double worst = 0;
  for (int64_t i = 0; i < p.qElements(); ++i) {
    const double got = o[size_t(i)];
    const double want = ref[size_t(i)];
    const double tol = base + rel * std::fabs(want) +
                       (mag.empty() ? 0.0 : 2 * pRounding * mag[size_t(i)]);
    const double err = std::fabs(got - want);
    if (!(err <= tol)) {
      const int64_t row = i / p.d;
      return invalidArgument(fmt::format(
          "{}: output element {} (row {}, column {}) is {} but the reference "
          "is {} (tolerance {:.2g}){}",
          p.key(), i, row, i % p.d, got, want, tol,
          std::isnan(got) ? "; the kernel did not write it" : ""));
    }
    worst = std::max(worst, err / tol);
  }
  return worst;
}

AttentionRunFn LoadedAttention::runner(CpuDevice &device) const {
  CpuAttentionKernel k = kernel;
  CpuDevice *dev = &device;
  return [k, dev](const void *q, const void *kk, const void *v, void *o,
                  float scale) { k.run(dev->pool(), q, kk, v, o, scale); };
}

Result<LoadedAttention> loadAttention(const CpuDevice &device,
                                      const std::string &bytes) {
  LoadedAttention out;
  KT_ASSIGN_OR_RETURN(out.module, device.loadModule(bytes));
  KT_ASSIGN_OR_RETURN(out.kernel, CpuAttentionKernel::resolve(*out.module));
  return out;
}

} // namespace kt
