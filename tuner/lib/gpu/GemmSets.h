// Internal: the GEMM inputs every GPU GEMM bench shares, whatever the
// vendor: rotating sets of A, B and C (the same values at other addresses,
// so each set is cold in the caches in turn) and the f32 reference product
// computed on the device by the reference module's kt_ref.
#pragma once

#include "GpuMeasure.h"
#include "ktune/problem/GemmProblem.h"

#include <memory>
#include <vector>

namespace kt::gpubench {

/// One rotating set: A, B and C of the problem at their own addresses.
template <typename Ctx> struct GemmSet {
  typename Ctx::Buffer a, b, c;
};

template <typename Ctx>
using GemmSets = std::vector<std::unique_ptr<GemmSet<Ctx>>>;

/// Enough sets to cover twice `cacheBytes` (or the options' size), A and B
/// of set 0 filled with random bf16 / fp16 values and the others copied
/// from it; C is 16-bit, or f32 for f32out.
template <typename Ctx>
Result<GemmSets<Ctx>> makeGemmSets(const Ctx &ctx, const GemmProblem &p,
                                   int64_t cacheBytes, int64_t memoryBytes,
                                   const GpuBenchOptions &options) {
  auto stored = [](int64_t rows, int64_t ld) { return rows * ld * 2; };
  const int64_t aBytes = stored(p.transA ? p.k : p.m, p.lda);
  const int64_t bBytes = stored(p.transB ? p.n : p.k, p.ldb);
  const int64_t cBytes = stored(p.m, p.ldc) * (p.outF32 ? 2 : 1);
  KT_ASSIGN_OR_RETURN(const int64_t count,
                      rotatingSets(aBytes + bBytes + cBytes, cacheBytes,
                                   memoryBytes, options, p.key()));
  const auto a0 = randomHalves(size_t(aBytes / 2), p.dtype, options.seed);
  const auto b0 = randomHalves(size_t(bBytes / 2), p.dtype, options.seed + 1);
  GemmSets<Ctx> sets;
  for (int64_t s = 0; s < count; ++s) {
    auto set = std::make_unique<GemmSet<Ctx>>();
    KT_ASSIGN_OR_RETURN(set->a, ctx.alloc(size_t(aBytes)));
    KT_ASSIGN_OR_RETURN(set->b, ctx.alloc(size_t(bBytes)));
    KT_ASSIGN_OR_RETURN(set->c, ctx.alloc(size_t(cBytes)));
    if (s == 0) {
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->a, a0.data(), size_t(aBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->b, b0.data(), size_t(bBytes)));
    } else {
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->a, sets[0]->a, size_t(aBytes)));
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->b, sets[0]->b, size_t(bBytes)));
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

/// The reference product of set 0 into `ref` and the per-element sums of
/// |a b| into `mag` (both f32, M x N packed) with kt_ref (`refFn`); its
/// time in ms.
template <typename Ctx>
Result<float> gemmReference(const Ctx &ctx, void *refFn,
                            const GemmSet<Ctx> &set, const GemmProblem &p,
                            const typename Ctx::Buffer &ref,
                            const typename Ctx::Buffer &mag) {
  uint64_t a = set.a.ptr(), b = set.b.ptr(), r = ref.ptr(), m = mag.ptr();
  int M = int(p.m), N = int(p.n), K = int(p.k), lda = int(p.lda),
      ldb = int(p.ldb), ta = p.transA, tb = p.transB,
      bf16 = p.dtype == DType::BF16;
  typename Ctx::Launch cfg;
  cfg.grid[0] = unsigned((p.n + 15) / 16);
  cfg.grid[1] = unsigned((p.m + 15) / 16);
  cfg.block[0] = cfg.block[1] = 16;
  return ctx.timeMs([&] {
    return ctx.launch(
        refFn, cfg, {&a, &b, &r, &m, &M, &N, &K, &lda, &ldb, &ta, &tb, &bf16});
  });
}

} // namespace kt::gpubench
