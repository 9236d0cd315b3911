// hipBLASLt on a real AMD GPU: a ragged bf16 / fp16 GEMM in all four
// layouts, every algorithm the heuristic offers, against a host reference
// (C poisoned with NaN first so an element left unwritten is caught, and a
// beta != 0 run so C is read). Skipped visibly ([SKIP]) without a GPU or
// without hipBLASLt.
#include "ktune/drivers/hip/HipBlasLt.h"
#include "support/GemmProblems.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace kt;

TEST_CASE("hipBLASLt computes ragged GEMMs in every layout") {
  auto ctx = hip::Context::open(0);
  if (!ctx) {
    std::printf("[SKIP] no AMD GPU: %s\n", ctx.status().message().c_str());
    return;
  }
  auto lib = hip::HipBlasLt::get();
  if (!lib) {
    std::printf("[SKIP] %s\n", lib.status().message().c_str());
    return;
  }
  std::printf("%s on hip:0 (%s)\n", (*lib)->version().c_str(),
              (*ctx)->info().gcnArchName.c_str());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      const GemmProblem p = test::gemmProblem(layout, 100, 70, 50, dt);
      INFO(p.key());
      const int64_t aRows = p.transA ? p.k : p.m;
      const int64_t bRows = p.transB ? p.n : p.k;
      std::vector<uint16_t> a(size_t(aRows * p.lda)), b(size_t(bRows * p.ldb)),
          c0(size_t(p.m * p.ldc));
      for (auto *v : {&a, &b, &c0}) {
        for (uint16_t &x : *v) {
          x = test::toBits(dt, dist(rng));
        }
      }
      auto at = [&](int64_t i, int64_t kk) {
        return double(test::fromBits(dt, p.transA ? a[size_t(kk * p.lda + i)]
                                                  : a[size_t(i * p.lda + kk)]));
      };
      auto bt = [&](int64_t kk, int64_t j) {
        return double(test::fromBits(dt, p.transB ? b[size_t(j * p.ldb + kk)]
                                                  : b[size_t(kk * p.ldb + j)]));
      };
      auto dA = (*ctx)->alloc(a.size() * 2);
      auto dB = (*ctx)->alloc(b.size() * 2);
      auto dC = (*ctx)->alloc(c0.size() * 2);
      REQUIRE((dA.isOk() && dB.isOk() && dC.isOk()));
      REQUIRE((*ctx)->copyToDevice(*dA, a.data(), a.size() * 2).isOk());
      REQUIRE((*ctx)->copyToDevice(*dB, b.data(), b.size() * 2).isOk());

      auto gemm = hip::HipBlasLtGemm::create(**ctx, p);
      INFO(gemm.status().toString());
      REQUIRE(gemm.isOk());
      REQUIRE((*gemm)->algorithms() >= 1);
      for (int algo = 0; algo < (*gemm)->algorithms(); ++algo) {
        for (float beta : {0.0f, -1.5f}) {
          const float alpha = beta == 0.0f ? 1.0f : 0.5f;
          INFO("algorithm " << algo << " alpha " << alpha << " beta " << beta);
          if (beta == 0.0f) {
            const uint32_t nan = dt == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
            REQUIRE((*ctx)->fill32(*dC, nan, c0.size() / 2).isOk());
          } else {
            REQUIRE((*ctx)->copyToDevice(*dC, c0.data(), c0.size() * 2).isOk());
          }
          Status run =
              (*gemm)->run(algo, dA->ptr(), dB->ptr(), dC->ptr(), alpha, beta);
          INFO(run.toString());
          REQUIRE(run.isOk());
          Status sync = (*ctx)->synchronize();
          INFO(sync.toString());
          REQUIRE(sync.isOk());
          std::vector<uint16_t> out(c0.size());
          REQUIRE((*ctx)->copyToHost(out.data(), *dC, out.size() * 2).isOk());
          int bad = 0;
          for (int64_t i = 0; i < p.m && bad < 5; ++i) {
            for (int64_t j = 0; j < p.n && bad < 5; ++j) {
              double ab = 0, mag = 0;
              for (int64_t kk = 0; kk < p.k; ++kk) {
                ab += at(i, kk) * bt(kk, j);
                mag += std::fabs(at(i, kk) * bt(kk, j));
              }
              const double cold = test::fromBits(dt, c0[size_t(i * p.ldc + j)]);
              const double ref = alpha * ab + beta * cold;
              const double got = test::fromBits(dt, out[size_t(i * p.ldc + j)]);
              // Output rounding (2^-8 relative for bf16) plus f32
              // accumulation.
              const double tol =
                  std::ldexp(std::fabs(ref), -7) + 1e-4 * alpha * mag + 1e-3;
              if (!(std::fabs(got - ref) <= tol)) {
                ++bad;
                UNSCOPED_INFO("C[" << i << "," << j << "] = " << got
                                   << ", expected " << ref);
              }
            }
          }
          REQUIRE(bad == 0);
        }
      }
    }
  }
}

TEST_CASE("hipBLASLt refuses f32 problems and bad algorithm indexes") {
  auto ctx = hip::Context::open(0);
  if (!ctx) {
    std::printf("[SKIP] no AMD GPU: %s\n", ctx.status().message().c_str());
    return;
  }
  if (auto lib = hip::HipBlasLt::get(); !lib) {
    std::printf("[SKIP] %s\n", lib.status().message().c_str());
    return;
  }
  auto f32 = hip::HipBlasLtGemm::create(
      **ctx, test::gemmProblem("NN", 64, 64, 64, DType::F32));
  REQUIRE(f32.status().code() == StatusCode::InvalidArgument);
  auto gemm = hip::HipBlasLtGemm::create(
      **ctx, test::gemmProblem("NT", 64, 64, 64, DType::BF16));
  REQUIRE(gemm.isOk());
  REQUIRE((*gemm)->run(-1, 0, 0, 0, 1.0f, 0.0f).code() ==
          StatusCode::InvalidArgument);
  REQUIRE((*gemm)->run((*gemm)->algorithms(), 0, 0, 0, 1.0f, 0.0f).code() ==
          StatusCode::InvalidArgument);
}
