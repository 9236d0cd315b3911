// cuda.gemm.sm90 on a real sm_90a GPU: sampled configurations, every layout,
// ragged sizes, alpha/beta, against a double-precision host reference, with
// the output poisoned with NaN first so an element the kernel skips is
// caught. Skipped (and reported so) without an sm_90 GPU.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "support/GemmProblems.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace kt;

namespace {

struct Case {
  const char *layout;
  int64_t m, n, k;
};

/// Elements of a stored matrix: rows x ld.
size_t storedElems(int64_t rows, int64_t ld) { return size_t(rows * ld); }

} // namespace

TEST_CASE("sm90 GEMM kernels match a host reference on the GPU") {
  auto gpus = cuda::listDevices();
  if (!gpus || gpus->empty()) {
    std::printf("[SKIP] no GPU: %s\n", gpus ? "the driver reports none"
                                            : gpus.status().message().c_str());
    return;
  }
  const cuda::DeviceInfo &gpu = (*gpus)[0];
  if (gpu.arch() != "sm_90a") {
    std::printf("[SKIP] GPU 0 is %s (%s), not sm_90a\n", gpu.name.c_str(),
                gpu.arch().c_str());
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  auto ctx = cuda::Context::open(0);
  REQUIRE(ctx.isOk());
  CudaGemmSm90 t;
  const TargetDesc target = compiler->target();

  const Case cases[] = {{"NT", 1000, 999, 4095}, {"NN", 1000, 999, 4095},
                        {"TN", 1000, 999, 4095}, {"TT", 1000, 999, 4095},
                        {"NT", 1, 4096, 4096},   {"NN", 16, 2880, 2880},
                        {"NT", 256, 512, 64},    {"TN", 130, 70, 24},
                        {"NT", 100, 300, 640},   {"TT", 72, 136, 640}};
  const Config configs[] = {
      {{"bm", 128}, {"bn", 256}, {"stages", 4}, {"cons", 2}, {"group", 8}},
      {{"bm", 256}, {"bn", 128}, {"stages", 3}, {"cons", 2}, {"group", 1}},
      {{"bm", 64}, {"bn", 192}, {"stages", 6}, {"cons", 1}, {"group", 8}},
      {{"bm", 128}, {"bn", 64}, {"stages", 2}, {"cons", 1}, {"group", 4}},
      // Split-K: the slices' partials meet in the workspace (K = 640 has
      // 10 blocks of 64: slices of 3, 3, 3 and 1).
      {{"bm", 64},
       {"bn", 128},
       {"stages", 4},
       {"cons", 1},
       {"group", 1},
       {"splitk", 4}},
      {{"bm", 128},
       {"bn", 128},
       {"stages", 4},
       {"cons", 2},
       {"group", 8},
       {"splitk", 2}}};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);

  for (DType dt : {DType::BF16, DType::F16}) {
    for (const Case &cs : cases) {
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
        auto bin = compiler->compile(*src, c.toString() + p.key());
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
