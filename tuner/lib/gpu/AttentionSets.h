// Internal: the attention inputs every GPU attention bench shares, whatever
// the vendor: rotating sets of Q, K, V and O (the same values at other
// addresses, so each set is cold in the caches in turn) and the f32
// reference computed on the device by the reference module's kt_attn_ref.
#pragma once

#include "GpuMeasure.h"
#include "ktune/problem/AttentionProblem.h"

#include <cmath>
#include <memory>
#include <vector>

namespace kt::gpubench {

/// One rotating set: Q, K, V and O at their own addresses.
template <typename Ctx> struct AttentionSet {
  typename Ctx::Buffer q, k, v, o;
};

template <typename Ctx>
using AttentionSets = std::vector<std::unique_ptr<AttentionSet<Ctx>>>;

/// Enough sets to cover twice `cacheBytes` (or the options' size), set 0
/// filled with random bf16 / fp16 values in [-1, 1) and the others copied
/// from it.
template <typename Ctx>
Result<AttentionSets<Ctx>>
makeAttentionSets(const Ctx &ctx, const AttentionProblem &p, int64_t cacheBytes,
                  int64_t memoryBytes, const GpuBenchOptions &options) {
  const int64_t qBytes = p.qElements() * 2, kvBytes = p.kvElements() * 2;
  KT_ASSIGN_OR_RETURN(const int64_t count,
                      rotatingSets(2 * qBytes + 2 * kvBytes, cacheBytes,
                                   memoryBytes, options, p.key()));
  const auto q0 = randomHalves(size_t(p.qElements()), p.dtype, options.seed);
  const auto k0 =
      randomHalves(size_t(p.kvElements()), p.dtype, options.seed + 1);
  const auto v0 =
      randomHalves(size_t(p.kvElements()), p.dtype, options.seed + 2);
  AttentionSets<Ctx> sets;
  for (int64_t s = 0; s < count; ++s) {
    auto set = std::make_unique<AttentionSet<Ctx>>();
    KT_ASSIGN_OR_RETURN(set->q, ctx.alloc(size_t(qBytes)));
    KT_ASSIGN_OR_RETURN(set->k, ctx.alloc(size_t(kvBytes)));
    KT_ASSIGN_OR_RETURN(set->v, ctx.alloc(size_t(kvBytes)));
    KT_ASSIGN_OR_RETURN(set->o, ctx.alloc(size_t(qBytes)));
    if (s == 0) {
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->q, q0.data(), size_t(qBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->k, k0.data(), size_t(kvBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->v, v0.data(), size_t(kvBytes)));
    } else {
      const AttentionSet<Ctx> &first = *sets[0];
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->q, first.q, size_t(qBytes)));
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->k, first.k, size_t(kvBytes)));
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->v, first.v, size_t(kvBytes)));
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

/// The reference output of set 0 (f32, laid out like O) into `ref` with
/// kt_attn_ref (`refFn`) at the default scale 1 / sqrt(d); its time in ms.
template <typename Ctx>
Result<float>
attentionReference(const Ctx &ctx, void *refFn, const AttentionSet<Ctx> &set,
                   const AttentionProblem &p, const typename Ctx::Buffer &ref) {
  uint64_t q = set.q.ptr(), k = set.k.ptr(), v = set.v.ptr(), r = ref.ptr();
  int hq = int(p.hq), hkv = int(p.hkv), sq = int(p.sq), skv = int(p.skv),
      d = int(p.d), bshd = p.layout == AttentionProblem::Layout::BSHD,
      causal = p.causal, bf16 = p.dtype == DType::BF16;
  float scale = float(1.0 / std::sqrt(double(p.d)));
  typename Ctx::Launch cfg;
  cfg.grid[0] = unsigned(p.batch * p.hq * p.sq);
  cfg.block[0] = 128;
  return ctx.timeMs([&] {
    return ctx.launch(refFn, cfg,
                      {&q, &k, &v, &r, &hq, &hkv, &sq, &skv, &d, &bshd, &causal,
                       &scale, &bf16});
  });
}

/// The output check of an attention candidate: P is rounded to 16 bits
/// before P V (2^-8 of |V| <= 1) and O on store.
template <typename Ctx>
CheckedOutput<Ctx> attentionOutput(const AttentionSet<Ctx> &set,
                                   const AttentionProblem &p,
                                   const typename Ctx::Buffer &ref) {
  return {&set.o, int(p.d), ref.ptr(), 0, p.qElements() / p.d,
          p.d,    p.dtype,  8e-3f};
}

} // namespace kt::gpubench
