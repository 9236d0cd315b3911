// Shared test helper: runs a CUDA GEMM family's configurations on GPU 0
// over sampled problems (every layout, ragged sizes, bf16 and fp16,
// alpha/beta, C of the inputs' type or f32) against a double-precision host
// reference, with C poisoned with NaN first so an element the kernel skips is
// caught.
#pragma once

#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/CompileConcurrently.h"
#include "support/GemmProblems.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
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

/// Every configuration of `configs` that `t` validates, on every case, for
/// bf16 and fp16 inputs; C of the inputs' type, or f32 with `outF32`. C
/// starts as random values (full-precision floats for an f32 C, so a
/// kernel reading it as 16-bit halves fails) or NaN for beta = 0, and every
/// element is compared with the double product within the tolerance of C's
/// type:
///   16-bit C: 2^-7 |ref| (output rounding) + 1e-4 sum |a b| + 1e-3;
///   f32 C: 2^-16 |ref| (a bf16 C's 2^-7 would hide a rounded store) +
///          2e-5 sum |a b| (f32 accumulation over K <= 4095 in any order)
///          + 1e-5.
/// A dropped 64-wide K block costs about sum |a b| / 64 either way.
inline void runFamilyOnGpu(const GemmTemplate &t, const CudaCompiler &compiler,
                           const cuda::DeviceInfo &gpu,
                           const std::vector<GpuGemmCase> &cases,
                           const std::vector<Config> &configs,
                           bool outF32 = false) {
  auto ctx = cuda::Context::open(gpu.ordinal);
  REQUIRE(ctx.isOk());
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const size_t cElem = outF32 ? 4 : 2;

  for (DType dt : {DType::BF16, DType::F16}) {
    for (const GpuGemmCase &cs : cases) {
      GemmProblem p = test::gemmProblem(cs.layout, cs.m, cs.n, cs.k, dt);
      p.outF32 = outF32;
      // Pad every leading dimension to a multiple of 8 (TMA's 16 bytes).
      auto pad = [](int64_t v) { return (v + 7) / 8 * 8; };
      p.lda = pad(p.transA ? p.m : p.k);
      p.ldb = pad(p.transB ? p.k : p.n);
      p.ldc = pad(p.n);
      const int64_t aRows = p.transA ? p.k : p.m;
      const int64_t bRows = p.transB ? p.n : p.k;
      std::vector<uint16_t> a(storedElems(aRows, p.lda)),
          b(storedElems(bRows, p.ldb));
      for (auto &x : a)
        x = test::toBits(dt, dist(rng));
      for (auto &x : b)
        x = test::toBits(dt, dist(rng));
      // C's starting values, and their bytes as the kernel reads them.
      const size_t cElems = storedElems(p.m, p.ldc);
      std::vector<float> c0(cElems);
      std::vector<uint8_t> c0Bytes(cElems * cElem);
      for (size_t e = 0; e < cElems; ++e) {
        if (outF32) {
          c0[e] = dist(rng);
          std::memcpy(&c0Bytes[e * 4], &c0[e], 4);
        } else {
          const uint16_t bits = test::toBits(dt, dist(rng));
          c0[e] = test::fromBits(dt, bits);
          std::memcpy(&c0Bytes[e * 2], &bits, 2);
        }
      }
      auto cAt = [&](const std::vector<uint8_t> &bytes, size_t e) -> double {
        if (outF32) {
          float f;
          std::memcpy(&f, &bytes[e * 4], 4);
          return f;
        }
        uint16_t bits;
        std::memcpy(&bits, &bytes[e * 2], 2);
        return test::fromBits(dt, bits);
      };
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
      // 4 bytes past C: a store beyond the last element shows as a fault.
      auto dC = (*ctx)->alloc(c0Bytes.size() + 4);
      REQUIRE((dA.isOk() && dB.isOk() && dC.isOk()));
      REQUIRE((*ctx)->copyToDevice(*dA, a.data(), a.size() * 2).isOk());
      REQUIRE((*ctx)->copyToDevice(*dB, b.data(), b.size() * 2).isOk());

      for (const CompiledInstance &inst :
           compileAccepted(t, compiler, configs, p)) {
        const Config &c = inst.config;
        const KernelSource *src = &inst.source;
        INFO(p.key() << " " << c.toString());
        const auto &bin = inst.binary;
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
            // NaN everywhere: f32 0x7FC00000, or bf16 0x7FC0 / fp16 0x7E00
            // in both halves.
            const uint32_t nan = outF32              ? 0x7FC00000u
                                 : dt == DType::BF16 ? 0x7FC07FC0u
                                                     : 0x7E007E00u;
            REQUIRE((*ctx)->fill32(*dC, nan, (c0Bytes.size() + 4) / 4).isOk());
          } else {
            REQUIRE((*ctx)
                        ->copyToDevice(*dC, c0Bytes.data(), c0Bytes.size())
                        .isOk());
          }
          cuda::GemmOperands ops{dA->ptr(), dB->ptr(), dC->ptr(), alpha, beta};
          // Split-K scratch (f32 partial tiles whatever C's type); the
          // kernel leaves the semaphores zeroed.
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
          std::vector<uint8_t> out(c0Bytes.size());
          REQUIRE((*ctx)->copyToHost(out.data(), *dC, out.size()).isOk());

          int64_t bad = 0;
          for (int64_t i = 0; i < p.m && bad < 5; ++i) {
            for (int64_t j = 0; j < p.n && bad < 5; ++j) {
              const size_t e = size_t(i * p.ldc + j);
              const double ref =
                  alpha * ab[size_t(i * p.n + j)] + beta * double(c0[e]);
              const double got = cAt(out, e);
              const double m = alpha * mag[size_t(i * p.n + j)];
              const double tol =
                  outF32 ? std::ldexp(std::fabs(ref), -16) + 2e-5 * m + 1e-5
                         : std::ldexp(std::fabs(ref), -7) + 1e-4 * m + 1e-3;
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
