// Rotating-buffer cold-cache timing and the OpenBLAS numerics check.
#include "ktune/tuner/GemmBench.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

namespace kt {

int64_t gemmElemsA(const GemmProblem &p) {
  return p.transA ? p.k * p.lda : p.m * p.lda;
}
int64_t gemmElemsB(const GemmProblem &p) {
  return p.transB ? p.n * p.ldb : p.k * p.ldb;
}
int64_t gemmElemsC(const GemmProblem &p) { return p.m * p.ldc; }

namespace {

void fillUniform(std::vector<float> &v, std::mt19937_64 &rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float &x : v) {
    x = d(rng);
  }
}

} // namespace

RotatingGemmArgs::RotatingGemmArgs(const GemmProblem &p, int64_t bytes,
                                   uint64_t seed) {
  const int64_t setBytes =
      (gemmElemsA(p) + gemmElemsB(p) + gemmElemsC(p)) * int64_t(sizeof(float));
  const int64_t n = std::max<int64_t>(2, (bytes + setBytes - 1) / setBytes);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    a_.emplace_back(gemmElemsA(p));
    b_.emplace_back(gemmElemsB(p));
    c_.emplace_back(gemmElemsC(p));
    fillUniform(a_.back(), rng);
    fillUniform(b_.back(), rng);
    fillUniform(c_.back(), rng);
  }
  total_ = n * setBytes;
}

Timing timeGemm(const GemmRunFn &run, RotatingGemmArgs &args,
                const TimingOptions &opt) {
  return timeRotating(
      [&](int i) { run(args.a(i), args.b(i), args.c(i), 1.0f, 0.0f); },
      args.sets(), opt);
}

Timing timeRotating(const std::function<void(int set)> &run, int sets,
                    const TimingOptions &opt) {
  using Clock = std::chrono::steady_clock;
  int next = 0;
  auto once = [&] {
    int i = next;
    next = (next + 1) % sets;
    auto t0 = Clock::now();
    run(i);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  double last = 0;
  for (int i = 0; i < opt.warmup; ++i) {
    last = once();
  }
  if (opt.abandonAboveMs > 0 && last > opt.abandonAboveMs) {
    Timing t;
    t.medianMs = last;
    t.iterations = 1;
    t.abandoned = true;
    return t;
  }
  std::vector<double> ms;
  double total = 0;
  while (int(ms.size()) < opt.maxIterations &&
         (int(ms.size()) < opt.minIterations || total < opt.maxMs)) {
    ms.push_back(once());
    total += ms.back();
  }
  std::sort(ms.begin(), ms.end());
  auto q = [&](double f) { return ms[size_t(f * double(ms.size() - 1))]; };
  Timing t;
  t.medianMs = q(0.5);
  t.dispersion = t.medianMs > 0 ? (q(0.75) - q(0.25)) / t.medianMs : 0;
  t.iterations = int(ms.size());
  return t;
}

void referenceGemm(const GemmProblem &p, const float *a, const float *b,
                   float *c, float alpha, float beta) {
  cblas_sgemm(CblasRowMajor, p.transA ? CblasTrans : CblasNoTrans,
              p.transB ? CblasTrans : CblasNoTrans, int(p.m), int(p.n),
              int(p.k), alpha, a, int(p.lda), b, int(p.ldb), beta, c,
              int(p.ldc));
}

Result<double> checkGemm(const GemmRunFn &run, const GemmProblem &p,
                         uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> a(gemmElemsA(p)), b(gemmElemsB(p)), c0(gemmElemsC(p));
  fillUniform(a, rng);
  fillUniform(b, rng);
  fillUniform(c0, rng);
  // Tolerance per element: two f32 summations of the same K products in
  // different orders differ by about eps * sqrt(K) * sum_k |a_ik * b_kj|
  // (random rounding errors, each bounded by the partial sums, which the
  // absolute sum bounds). Allow twice that plus a relative term for the
  // epilogue. A wrong element, a missed tile or a dropped k term is off by
  // O(|a b|) ~ 0.25 and fails by orders of magnitude.
  const double eps = std::numeric_limits<float>::epsilon();
  const double kScale = 2.0 * eps * std::sqrt(double(p.k));
  const double rtol = 16.0 * eps;
  std::vector<float> absA(a.size()), absB(b.size()), absAB(c0.size(), 0.0f);
  std::transform(a.begin(), a.end(), absA.begin(),
                 [](float x) { return std::fabs(x); });
  std::transform(b.begin(), b.end(), absB.begin(),
                 [](float x) { return std::fabs(x); });
  referenceGemm(p, absA.data(), absB.data(), absAB.data(), 1.0f, 0.0f);
  double worst = 0;
  for (float beta : {0.0f, 0.5f}) {
    const float alpha = 1.25f;
    std::vector<float> ref = c0, got = c0;
    if (beta == 0.0f) {
      std::fill(got.begin(), got.end(),
                std::numeric_limits<float>::quiet_NaN());
    }
    referenceGemm(p, a.data(), b.data(), ref.data(), alpha, beta);
    run(a.data(), b.data(), got.data(), alpha, beta);
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        const double r = ref[i * p.ldc + j], g = got[i * p.ldc + j];
        const double tol =
            kScale * alpha * absAB[i * p.ldc + j] +
            rtol * (std::fabs(r) + std::fabs(beta * c0[i * p.ldc + j])) +
            std::numeric_limits<float>::min();
        const double e = std::fabs(g - r) / tol;
        if (!(e <= 1.0)) {
          return failedPrecondition(fmt::format(
              "C[{}][{}] = {} but OpenBLAS gives {} (alpha={}, beta={}, "
              "tolerance {:.3g})",
              i, j, g, r, alpha, beta, tol));
        }
        worst = std::max(worst, e);
      }
    }
  }
  return worst;
}

} // namespace kt
