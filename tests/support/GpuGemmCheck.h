// Shared test helper: runs a CUDA GEMM family's configurations on GPU 0
// over sampled problems (every layout, ragged sizes, bf16 and fp16,
// alpha/beta) against a double-precision host reference, with C poisoned
// with NaN first so an element the kernel skips is caught.
#pragma once

#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/GemmProblems.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

namespace kt::test {

struct GpuGemmCase {
  const char *layout;
  int64_t m, n, k;
};

/// Problems with ragged sizes, skinny M, short K and uneven split-K slices.
inline std::vector<GpuGemmCase> gpuGemmCases() {
  return {{"NT", 1000, 999, 4095}, {"NN", 1000, 999, 4095},
          {"TN", 1000, 999, 4095}, {"TT", 1000, 999, 4095},
          {"NT", 1, 4096, 4096},   {"NN", 16, 2880, 2880},
          {"NT", 256, 512, 64},    {"TN", 130, 70, 24},
          {"NT", 100, 300, 640},   {"TT", 72, 136, 640}};
}

/// GPU 0 if its arch is `arch`, else nullopt after printing the skip.
inline std::optional<cuda::DeviceInfo> gpuOfArch(const std::string &arch) {
  auto gpus = cuda::listDevices();
  if (!gpus || gpus->empty()) {
    std::printf("[SKIP] no GPU: %s\n", gpus ? "the driver reports none"
                                            : gpus.status().message().c_str());
    return std::nullopt;
  }
  if ((*gpus)[0].arch() != arch) {
    std::printf("[SKIP] GPU 0 is %s (%s), not %s\n", (*gpus)[0].name.c_str(),
                (*gpus)[0].arch().c_str(), arch.c_str());
    return std::nullopt;
  }
  return (*gpus)[0];
}

inline size_t storedElems(int64_t rows, int64_t ld) {
  return size_t(rows * ld);
}

/// Every configuration of `configs` that `t` validates, on every case.
inline void runFamilyOnGpu(const GemmTemplate &t, const CudaCompiler &compiler,
                           const cuda::DeviceInfo &gpu,
                           const std::vector<GpuGemmCase> &cases,
                           const std::vector<Config> &configs) {
  auto ctx = cuda::Context::open(gpu.ordinal);
  REQUIRE(ctx.isOk());
  const TargetDesc target = compiler.target();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);

  for (DType dt : {DType::BF16, DType::F16}) {
    for (const GpuGemmCase &cs : cases) {
      GemmProblem p = test::gemmProblem(cs.layout, cs.m, cs.n, cs.k, dt);
      // Pad every leading dimension to a multiple of 8 (TMA's 16 bytes).
      auto pad = [](int64_t v) { return (v + 7) / 8 * 8; };
      p.lda = pad(p.transA ? p.m : p.k);
      p.ldb = pad(p.transB ? p.k : p.n);
      p.ldc = pad(p.n);
      const int64_t aRows = p.transA ? p.k : p.m;
      const int64_t bRows = p.transB ? p.n : p.k;
      std::vector<uint16_t> a(storedElems(aRows, p.lda)),
          b(storedElems(bRows, p.ldb)), c0(storedElems(p.m, p.ldc));
      for (auto &x : a)
        x = test::toBits(dt, dist(rng));
      for (auto &x : b)
        x = test::toBits(dt, dist(rng));
      for (auto &x : c0)
        x = test::toBits(dt, dist(rng));
      auto at = [&](int64_t i, int64_t kk) {
        return test::fromBits(dt,
                              p.transA ? a[kk * p.lda + i] : a[i * p.lda + kk]);
      };
      auto bt = [&](int64_t kk, int64_t j) {
        return test::fromBits(dt,
                              p.transB ? b[j * p.ldb + kk] : b[kk * p.ldb + j]);
      };
      // A x B and sum |a b| in double, once per problem.
      std::vector<double> ab(size_t(p.m * p.n)), mag(size_t(p.m * p.n));
      for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
          double acc = 0, sum = 0;
          for (int64_t kk = 0; kk < p.k; ++kk) {
            double prod = double(at(i, kk)) * double(bt(kk, j));
            acc += prod;
            sum += std::fabs(prod);
          }
          ab[size_t(i * p.n + j)] = acc;
          mag[size_t(i * p.n + j)] = sum;
        }
      }
      auto dA = (*ctx)->alloc(a.size() * 2);
      auto dB = (*ctx)->alloc(b.size() * 2);
      auto dC = (*ctx)->alloc(c0.size() * 2 + 4);
      REQUIRE((dA.isOk() && dB.isOk() && dC.isOk()));
      REQUIRE((*ctx)->copyToDevice(*dA, a.data(), a.size() * 2).isOk());
      REQUIRE((*ctx)->copyToDevice(*dB, b.data(), b.size() * 2).isOk());

      for (const Config &c : configs) {
        if (!t.validate(c, p, target).isOk()) {
          continue;
        }
        INFO(p.key() << " " << c.toString());
        auto src = t.instantiate(c, p, target);
        REQUIRE(src.isOk());
        auto bin = compiler.compile(*src, c.toString() + p.key());
        INFO(bin.status().toString());
        REQUIRE(bin.isOk());
        auto mod = (*ctx)->loadModule(bin->cubin);
        REQUIRE(mod.isOk());
        auto fn = mod->function(src->entry);
        REQUIRE(fn.isOk());
        auto spec = cuda::parseGemmLaunchSpec(src->launch);
        REQUIRE(spec.isOk());

        for (float beta : {0.0f, -1.5f}) {
          const float alpha = beta == 0.0f ? 1.0f : 0.5f;
          INFO("alpha " << alpha << " beta " << beta);
          if (beta == 0.0f) {
            // NaN everywhere (bf16 0x7FC0 / fp16 0x7E00 in both halves).
            uint32_t nan = dt == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
            REQUIRE((*ctx)->fill32(*dC, nan, (c0.size() * 2 + 4) / 4).isOk());
          } else {
            REQUIRE((*ctx)->copyToDevice(*dC, c0.data(), c0.size() * 2).isOk());
          }
          cuda::GemmOperands ops{dA->ptr(), dB->ptr(), dC->ptr(), alpha, beta};
          // Split-K scratch; the kernel leaves the semaphores zeroed.
          const uint64_t wsBytes = cuda::gemmWorkspaceBytes(*spec, p);
          const uint64_t sems = cuda::gemmSemaphores(*spec, p);
          cuda::DeviceBuffer ws, sem;
          if (wsBytes > 0) {
            ws = std::move((*ctx)->alloc(wsBytes).value());
            sem = std::move((*ctx)->alloc(sems * 4).value());
            REQUIRE((*ctx)->fill32(sem, 0, sems).isOk());
            ops.workspace = ws.ptr();
            ops.semaphores = sem.ptr();
          }
          Status s = cuda::launchGemm(**ctx, *fn, *spec, p, ops, gpu.smCount);
          INFO(s.toString());
          REQUIRE(s.isOk());
          Status sync = (*ctx)->synchronize();
          INFO(sync.toString());
          REQUIRE(sync.isOk());
          std::vector<uint16_t> out(c0.size());
          REQUIRE((*ctx)->copyToHost(out.data(), *dC, out.size() * 2).isOk());

          int64_t bad = 0;
          for (int64_t i = 0; i < p.m && bad < 5; ++i) {
            for (int64_t j = 0; j < p.n && bad < 5; ++j) {
              const double cold = test::fromBits(dt, c0[i * p.ldc + j]);
              const double ref = alpha * ab[size_t(i * p.n + j)] + beta * cold;
              const double got = test::fromBits(dt, out[i * p.ldc + j]);
              // Output rounding (2^-8 relative for bf16) plus f32
              // accumulation; a dropped 64-wide K block is ~mag/64.
              const double tol = std::ldexp(std::fabs(ref), -7) +
                                 1e-4 * alpha * mag[size_t(i * p.n + j)] + 1e-3;
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

} // namespace kt::test
