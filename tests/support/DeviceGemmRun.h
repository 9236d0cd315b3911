// Shared test helpers: running a looked-up kernel on a GPU (CUDA or HIP: any
// context with alloc / copies / fill32 / synchronize and Ctx::Buffer). The
// kernel's split workspace (kt_kernel_info.workspace_bytes) zeroed once, and
// a bf16 GEMM (C bf16 or f32) on random operands with C poisoned with NaN,
// counted against the double-precision host product.
#pragma once

#include "kt/kt.h"
#include "ktune/problem/GemmProblem.h"
#include "support/HalfFloat.h"
#include "support/HostGemmCheck.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace kt::test {

/// The device address of a buffer, as kt.h takes it.
template <typename Buffer> void *devicePtr(const Buffer &b) {
  return reinterpret_cast<void *>(uintptr_t(b.ptr()));
}

/// kt.h's description of `p` (bf16 inputs, packed leading dimensions; an
/// f32 C where p.outF32).
inline kt_gemm_desc bf16GemmDesc(const GemmProblem &p) {
  kt_gemm_desc d;
  kt_gemm_desc_init(&d);
  d.dtype = KT_BF16;
  d.trans_a = p.transA;
  d.trans_b = p.transB;
  d.m = p.m;
  d.n = p.n;
  d.k = p.k;
  d.out_f32 = p.outF32;
  return d;
}

/// The zeroed split-K / split-KV scratch `kernel` asks for (none if 0).
template <typename Ctx> struct KernelWorkspace {
  std::optional<typename Ctx::Buffer> buffer;
  void *ptr() const { return buffer ? devicePtr(*buffer) : nullptr; }
};

template <typename Ctx>
KernelWorkspace<Ctx> kernelWorkspace(const Ctx &dev, const kt_kernel *kernel) {
  kt_kernel_info info;
  info.struct_size = sizeof(info);
  REQUIRE(kt_kernel_get_info(kernel, &info) == KT_OK);
  KernelWorkspace<Ctx> ws;
  if (info.workspace_bytes > 0) {
    auto w = dev.alloc(info.workspace_bytes);
    REQUIRE(w.isOk());
    REQUIRE(dev.fill32(*w, 0, info.workspace_bytes / 4).isOk());
    ws.buffer = std::move(*w);
  }
  return ws;
}

/// Runs a looked-up GEMM `kernel` for `p` (bf16 inputs; C bf16, or f32
/// for f32out): `launch(a, b, c, workspace)` queues it on device pointers
/// and returns its kt_status; it runs `launches` times (split-K kernels
/// must leave their semaphores zeroed for the next). Returns the elements
/// of C outside the tolerance of C's type (HostGemmCheck.h).
template <typename Ctx, typename Launch>
int gemmMismatches(const Ctx &dev, const kt_kernel *kernel,
                   const GemmProblem &p, Launch launch, int launches = 1) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t aRows = p.transA ? p.k : p.m;
  const int64_t bRows = p.transB ? p.n : p.k;
  std::vector<uint16_t> a(size_t(aRows * p.lda)), b(size_t(bRows * p.ldb));
  for (auto &x : a)
    x = toBf16(dist(rng));
  for (auto &x : b)
    x = toBf16(dist(rng));
  const size_t cElems = size_t(p.m * p.ldc);
  const size_t cBytes = cElems * (p.outF32 ? 4 : 2);
  auto dA = dev.alloc(a.size() * 2);
  auto dB = dev.alloc(b.size() * 2);
  auto dC = dev.alloc(cBytes);
  REQUIRE((dA.isOk() && dB.isOk() && dC.isOk()));
  REQUIRE(dev.copyToDevice(*dA, a.data(), a.size() * 2).isOk());
  REQUIRE(dev.copyToDevice(*dB, b.data(), b.size() * 2).isOk());
  // NaN in every element: f32 0x7FC00000, or bf16 0x7FC0 in both halves.
  REQUIRE(
      dev.fill32(*dC, p.outF32 ? 0x7FC00000u : 0x7FC07FC0u, cBytes / 4).isOk());
  const KernelWorkspace<Ctx> ws = kernelWorkspace(dev, kernel);
  INFO(kt_context_last_error(nullptr));
  for (int i = 0; i < launches; ++i) {
    REQUIRE(launch(devicePtr(*dA), devicePtr(*dB), devicePtr(*dC), ws.ptr()) ==
            KT_OK);
  }
  REQUIRE(dev.synchronize().isOk());
  if (p.outF32) {
    std::vector<float> c(cElems);
    REQUIRE(dev.copyToHost(c.data(), *dC, cBytes).isOk());
    return countF32Mismatches(p, a, b, c);
  }
  std::vector<uint16_t> c(cElems);
  REQUIRE(dev.copyToHost(c.data(), *dC, cBytes).isOk());
  return countBf16Mismatches(p, a, b, c);
}

} // namespace kt::test
