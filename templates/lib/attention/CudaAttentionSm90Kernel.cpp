// The CUDA C++ text of the sm_90a attention family: the configuration as
// #defines, the CUDA helpers the GEMM families share (element types, TMA,
// mbarrier, descriptors, conversions), the attention helpers the sm_100a
// family shares, the two wgmma wrappers for this instance's shapes, then
// the fixed kernel body with its three block loops (KT_OVERLAP 0: serial;
// 1 and 2: the softmax beside in-flight wgmma, docs/attention.md) and the
// lazy softmax (KT_LAZY, present in the text only with lazy=1).
#include "CudaAttentionSm90Kernel.h"

#include "../gemm/CudaGemmCommon.h"
#include "CudaAttentionCommon.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace kt::attn90 {
namespace {

// The fixed part. Everything shape- or type-specific comes from the KT_*
// constants and the wrappers placed before it.
constexpr const char *kBody = R"CUDA(
// ---- wgmma ----
static __device__ __forceinline__ void kt_wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
}
static __device__ __forceinline__ void kt_wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
}
template <int N> static __device__ __forceinline__ void kt_wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}

#if KT_OVERLAP
// ---- the overlapped block loop (KT_OVERLAP 1 and 2) ----
// A wgmma's accumulator may be read, and its register operands rewritten,
// only after a wgmma.wait_group that covers it; registers written for a
// wgmma must be written before the wgmma.fence that precedes it. kt_pin
// keeps the compiler from moving such reads above the wait or such writes
// below the fence: the values pass through an empty asm at that point.
template <int N>
static __device__ __forceinline__ void kt_pin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) {
    asm volatile("" : "+f"(r[i])::"memory");
  }
}
static __device__ __forceinline__ void kt_pin(u32 (&r)[KT_KV / 16][4]) {
#pragma unroll
  for (int j = 0; j < KT_KV / 16; ++j) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      asm volatile("" : "+r"(r[j][q])::"memory");
    }
  }
}

// One K or V block into a stage, completing on its own barrier (the
// coordinates of kt_load_kv).
static __device__ __forceinline__ void
kt_load_block(u16 *dst, const KtTensorMap *tm, u64 *full, const KtWork &w,
              int Hkv, int Skv, int blk) {
#if KT_BSHD
  const int x0 = w.kvh * KT_D, y0 = w.b * Skv;
#else
  const int x0 = 0, y0 = (w.b * Hkv + w.kvh) * Skv;
#endif
  kt_bar_expect_tx(full, KT_KV_BYTES);
#pragma unroll
  for (int c = 0; c < KT_CHUNKS; ++c) {
    kt_tma_load(dst + c * KT_KV * 64, tm, full, x0 + c * 64, y0 + blk * KT_KV);
  }
}

// What a consumer's block steps read: the K / V ring and its barriers, the
// warpgroup's Q tile, its two rows' key limits, and where the tile's first
// block sits in the ring (it0: the blocks of the CTA's earlier tiles).
struct KtCtx {
  u16 *sK, *sV;
  u64 *fullK, *fullV, *emptyK, *emptyV;
  u32 qBase;
  int blkBegin, unmasked, lane;
  int lim[2];
  float scaleLog2;
  int it0;
};

// The ring stage, and the phase of its barriers, of the tile's block j.
static __device__ __forceinline__ int kt_stage(const KtCtx &c, int j) {
  return (c.it0 + j) % KT_STAGES;
}
static __device__ __forceinline__ u32 kt_phase(const KtCtx &c, int j) {
  return ((c.it0 + j) / KT_STAGES) & 1;
}

// S = Q K^T for the K block in stage st, into s: issued and committed, not
// waited for. The first k16 step ignores what s holds (scale-d 0), so no
// instruction writes s while other products are in flight: ptxas
// serialises the wgmma pipeline when one does.
static __device__ __forceinline__ void kt_issue_s(float (&s)[KT_KV / 2],
                                                  const KtCtx &c, int st) {
  const u32 kBase = kt_smem(c.sK + st * KT_KV_ELEMS);
  kt_wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < KT_D / 16; ++kk) {
    kt_wgmma_s(s,
               kt_desc(c.qBase + (kk / 4) * KT_ROWS * 128 + (kk % 4) * 32, 16,
                       1024),
               kt_desc(kBase + (kk / 4) * KT_KV * 128 + (kk % 4) * 32, 16,
                       1024),
               kk > 0);
  }
  kt_wgmma_commit();
}

// O += P V for the V block in stage st: issued and committed, not waited
// for.
static __device__ __forceinline__ void
kt_issue_o(float (&o)[KT_D / 2], u32 (&pa)[KT_KV / 16][4], const KtCtx &c,
           int st) {
  const u32 vBase = kt_smem(c.sV + st * KT_KV_ELEMS);
  kt_pin(o);
  kt_pin(pa);
  kt_wgmma_fence();
#pragma unroll
  for (int j = 0; j < KT_KV / 16; ++j) {
    kt_wgmma_o(o, pa[j], kt_desc(vBase + j * 2048, KT_KV * 128, 1024));
  }
  kt_wgmma_commit();
}

// The online softmax of block blk's scores s (complete), as the serial
// loop computes it: the mask where the block needs one, the row maxima over
// the quad, the running max m and sum l updated, s replaced in place by
// P = exp2(S * scale - max). The output must be multiplied by alpha before
// this block's P V is added.
#if KT_LAZY
// Lazy (FlashAttention-4): the rows keep their stale maxima, and O and l
// stay as they are, unless a row of the warp would grow by more than 8
// (log2 units); then every row of the warp takes its new maximum as above.
// P is at most 2^8 either way, and O / l at the end is exact (O, l and m
// stay consistent). Returns the warp's decision: whether O must be
// multiplied by alpha (alpha is left unset otherwise).
static __device__ __forceinline__ bool
#else
static __device__ __forceinline__ void
#endif
kt_softmax(float (&s)[KT_KV / 2], float (&m)[2], float (&l)[2],
           float (&alpha)[2], const KtCtx &c, int blk) {
  if (blk >= c.unmasked) {
    const int key0 = blk * KT_KV + 2 * (c.lane % 4);
#pragma unroll
    for (int i = 0; i < KT_KV / 2; ++i) {
      if (key0 + 8 * (i / 4) + i % 2 >= c.lim[(i / 2) % 2]) {
        s[i] = KT_NEG_INF;
      }
    }
  }
  float mx[2] = {KT_NEG_INF, KT_NEG_INF};
#pragma unroll
  for (int i = 0; i < KT_KV / 2; ++i) {
    mx[(i / 2) % 2] = fmaxf(mx[(i / 2) % 2], s[i]);
  }
  float base[2];
#if KT_LAZY
  float next[2];
  bool grow = false;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
    mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
    next[half] = fmaxf(m[half], mx[half] * c.scaleLog2);
    // -inf to a finite maximum is growth (+inf); -inf to -inf (NaN) is not.
    grow = grow || next[half] - m[half] > 8.0f;
  }
  const bool grew = __any_sync(0xffffffffu, grow);
  if (grew) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float to = next[half] == KT_NEG_INF ? 0.0f : next[half];
      alpha[half] = kt_exp2(m[half] - to);
      m[half] = next[half];
      l[half] *= alpha[half];
    }
  }
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
    // exp2 at 0 instead of NaN.
    base[half] = m[half] == KT_NEG_INF ? 0.0f : m[half];
  }
#else
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
    mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
    const float next = fmaxf(m[half], mx[half] * c.scaleLog2);
    // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
    // exp2 at 0 instead of NaN.
    base[half] = next == KT_NEG_INF ? 0.0f : next;
    alpha[half] = kt_exp2(m[half] - base[half]);
    m[half] = next;
    l[half] *= alpha[half];
  }
#endif
#pragma unroll
  for (int i = 0; i < KT_KV / 2; i += 2) {
    const int half = (i / 2) % 2;
    s[i] = kt_exp2(fmaf(s[i], c.scaleLog2, -base[half]));
    s[i + 1] = kt_exp2(fmaf(s[i + 1], c.scaleLog2, -base[half]));
    l[half] += s[i] + s[i + 1];
  }
#if KT_LAZY
  return grew;
#endif
}

static __device__ __forceinline__ void kt_rescale(float (&o)[KT_D / 2],
                                                  const float (&alpha)[2]) {
#pragma unroll
  for (int i = 0; i < KT_D / 2; ++i) {
    o[i] *= alpha[(i / 2) % 2];
  }
}

// P as wgmma A fragments: k16 step j takes s[8j .. 8j + 7] in pairs.
static __device__ __forceinline__ void kt_pack_p(const float (&s)[KT_KV / 2],
                                                 u32 (&pa)[KT_KV / 16][4]) {
#pragma unroll
  for (int j = 0; j < KT_KV / 16; ++j) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      pa[j][q] = kt_pack(s[8 * j + 2 * q], s[8 * j + 2 * q + 1]);
    }
  }
}
#endif

#if KT_OVERLAP == 1
// Block j of a CTA's KV blocks, not the last, with overlap 1. On entry cur
// holds block j's scores, complete, and for j > 0 the previous block's P V
// may still run (o and pa in flight). The next block's scores are issued
// into nxt first, so this block's softmax runs beside them and beside the
// previous P V. Then the previous P V is waited for (the next scores may
// still run), the output rescaled, P written and this block's P V issued;
// then the next scores are waited for, and this block's P V is left
// running into the next step, beside the next softmax. K stages are freed
// when their scores are done, V stages when their P V is.
static __device__ __forceinline__ void
kt_step(float (&cur)[KT_KV / 2], float (&nxt)[KT_KV / 2],
        float (&o)[KT_D / 2], u32 (&pa)[KT_KV / 16][4], float (&m)[2],
        float (&l)[2], const KtCtx &c, int j) {
  const int st = kt_stage(c, j), sn = kt_stage(c, j + 1);
  kt_bar_wait(&c.fullK[sn], kt_phase(c, j + 1));
  kt_issue_s(nxt, c, sn);
  float alpha[2];
#if KT_LAZY
  const bool grew = kt_softmax(cur, m, l, alpha, c, c.blkBegin + j);
#else
  kt_softmax(cur, m, l, alpha, c, c.blkBegin + j);
#endif
  // Groups in flight, oldest first: the previous P V (j > 0), the next
  // scores. Leaving one retires the previous P V.
  kt_wgmma_wait<1>();
  kt_pin(o);
  kt_pin(cur);
  if (j > 0) {
    kt_bar_arrive(&c.emptyV[kt_stage(c, j + KT_STAGES - 1)]); // block j - 1
  }
#if KT_LAZY
  if (grew) {
    kt_rescale(o, alpha);
  }
#else
  kt_rescale(o, alpha);
#endif
  kt_pack_p(cur, pa);
  kt_bar_wait(&c.fullV[st], kt_phase(c, j));
  kt_issue_o(o, pa, c, st);
  // In flight: the next scores, this P V. Leaving one retires the scores.
  kt_wgmma_wait<1>();
  kt_pin(nxt);
  kt_bar_arrive(&c.emptyK[sn]);
}

// The last block j: as kt_step without a next block; its P V is waited for.
static __device__ __forceinline__ void
kt_last(float (&cur)[KT_KV / 2], float (&o)[KT_D / 2],
        u32 (&pa)[KT_KV / 16][4], float (&m)[2], float (&l)[2],
        const KtCtx &c, int j) {
  const int st = kt_stage(c, j);
  float alpha[2];
#if KT_LAZY
  const bool grew = kt_softmax(cur, m, l, alpha, c, c.blkBegin + j);
#else
  kt_softmax(cur, m, l, alpha, c, c.blkBegin + j);
#endif
  kt_wgmma_wait<0>();
  kt_pin(o);
  kt_pin(cur);
  if (j > 0) {
    kt_bar_arrive(&c.emptyV[kt_stage(c, j + KT_STAGES - 1)]); // block j - 1
  }
#if KT_LAZY
  if (grew) {
    kt_rescale(o, alpha);
  }
#else
  kt_rescale(o, alpha);
#endif
  kt_pack_p(cur, pa);
  kt_bar_wait(&c.fullV[st], kt_phase(c, j));
  kt_issue_o(o, pa, c, st);
  kt_wgmma_wait<0>();
  kt_pin(o);
  kt_bar_arrive(&c.emptyV[st]);
}
#endif

#if KT_OVERLAP == 2
// Pingpong: consumer warpgroups take turns issuing their GEMMs, in the
// order 0, 1, .., KT_CONS - 1, 0, ..: consumer k waits on named barrier
// 4 + k (1..3 are the consumers' own) until consumer k - 1 has issued, so
// one warpgroup's softmax runs while the next one's GEMMs occupy the
// tensor cores. A barrier completes with 256 threads: the waiting
// warpgroup's sync and the previous one's arrive. Every consumer takes the
// same number of turns (the CTA's KV blocks plus one); the last consumer
// hands the turn on once before its first turn and not after its last, so
// each barrier sees as many arrives as syncs. No-ops without KT_PINGPONG.
static __device__ __forceinline__ void kt_turn_arrive(int cons) {
#if KT_PINGPONG
  asm volatile("bar.arrive %0, %1;" ::"r"(4 + (cons + 1) % KT_CONS), "r"(256)
               : "memory");
#endif
}
static __device__ __forceinline__ void kt_turn_begin(int cons) {
  if (KT_PINGPONG && cons == KT_CONS - 1) {
    kt_turn_arrive(cons);
  }
}
static __device__ __forceinline__ void kt_turn_wait(int cons) {
  if (KT_PINGPONG) {
    kt_named_sync(4 + cons, 256);
  }
}
static __device__ __forceinline__ void kt_turn_pass(int cons, bool last) {
  if (KT_PINGPONG && !(last && cons == KT_CONS - 1)) {
    kt_turn_arrive(cons);
  }
}
#endif

extern "C" __global__ void __launch_bounds__(128 * (KT_CONS + 1), 1)
kt_attention(const __grid_constant__ KtTensorMap tmK,
             const __grid_constant__ KtTensorMap tmV,
             const u16 *__restrict__ Q, u16 *__restrict__ O, int B, int Hq,
             int Hkv, int Sq, int Skv, float scaleLog2,
             float *__restrict__ ws, u32 *__restrict__ sems) {
  extern __shared__ __align__(1024) unsigned char kt_smem_raw[];
  unsigned char *smem =
      kt_smem_raw + ((1024 - (kt_smem(kt_smem_raw) & 1023)) & 1023);
  u16 *sQ = reinterpret_cast<u16 *>(smem);
  u16 *sK = sQ + KT_Q_ELEMS;
  u16 *sV = sK + KT_STAGES * KT_KV_ELEMS;
  u64 *fullK = reinterpret_cast<u64 *>(sV + KT_STAGES * KT_KV_ELEMS);
  u64 *fullV = fullK + KT_STAGES;
  // Consumers free a stage on emptyK once its scores are done and on emptyV
  // once its P V is: one barrier for both when the two products of a block
  // run in turn, two with overlap (the next block's scores finish before
  // this block's P V).
  u64 *emptyK = fullV + KT_STAGES;
#if KT_OVERLAP
  u64 *emptyV = emptyK + KT_STAGES;
#endif
#if KT_SPLIT > 1
  u32 *arrived = reinterpret_cast<u32 *>(emptyK + (KT_OVERLAP ? 2 : 1) *
                                                      KT_STAGES); // per consumer
#endif

#if KT_PERSIST
#if KT_SPLIT > 1
#error "a persistent kernel takes no KV split"
#endif
  const unsigned units = kt_units(B, Hq, Hkv, Sq);
#else
  const KtWork w = kt_work(B, Hq, Hkv, Sq, Skv);
#endif
  const int wg = threadIdx.x / 128;
  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&fullK[s], 1);
      kt_bar_init(&fullV[s], 1);
      kt_bar_init(&emptyK[s], 128 * KT_CONS);
#if KT_OVERLAP
      kt_bar_init(&emptyV[s], 128 * KT_CONS);
#endif
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  if (wg == 0) {
    // Producer warpgroup: gives its registers to the consumers.
#if KT_CONS > 1
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;");
#endif
    if (threadIdx.x != 0) {
      return;
    }
    // The ring runs on across a persistent CTA's tiles: the next tile's
    // first blocks load while the consumers finish this one.
    int it = 0;
#if KT_PERSIST
    for (unsigned unit = blockIdx.x; unit < units; unit += gridDim.x) {
      const KtWork w = kt_work_at(unit, B, Hq, Hkv, Sq, Skv);
#else
    {
#endif
      for (int blk = w.blkBegin; blk < w.blkEnd; ++blk, ++it) {
        const int s = it % KT_STAGES;
        kt_bar_wait(&emptyK[s], ((it / KT_STAGES) & 1) ^ 1);
#if KT_OVERLAP
        kt_load_block(sK + s * KT_KV_ELEMS, &tmK, &fullK[s], w, Hkv, Skv, blk);
        kt_bar_wait(&emptyV[s], ((it / KT_STAGES) & 1) ^ 1);
        kt_load_block(sV + s * KT_KV_ELEMS, &tmV, &fullV[s], w, Hkv, Skv, blk);
#else
        kt_load_kv(sK + s * KT_KV_ELEMS, sV + s * KT_KV_ELEMS, &tmK, &tmV,
                   &fullK[s], &fullV[s], w, Hkv, Skv, blk);
#endif
      }
    }
    return;
  }

  // Consumer warpgroups.
#if KT_CONS == 2
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;");
#elif KT_CONS == 3
  asm volatile("setmaxnreg.inc.sync.aligned.u32 160;");
#endif
  const int cons = wg - 1;
  const int t = threadIdx.x % 128;
  const int warp = t / 32, lane = t % 32;

  // Blocks of the CTA's earlier tiles (persistent): where this tile's
  // first block sits in the ring.
  int ring = 0;
#if KT_PERSIST
  for (unsigned unit = blockIdx.x; unit < units; unit += gridDim.x) {
    const KtWork w = kt_work_at(unit, B, Hq, Hkv, Sq, Skv);
    // Every warp of the warpgroup is past the previous tile's products
    // before its Q rows are overwritten.
    kt_named_sync(1 + cons, 128);
#else
  {
#endif
  // The tile. (Its body keeps the indentation of the one-tile kernel.)

  // This warpgroup's 64 Q rows into shared memory.
  kt_load_q(sQ, Q, w, Hq, Sq, cons * 64, 64, t, 128);
  kt_fence_proxy_async();
  kt_named_sync(1 + cons, 128);

  // This thread's two rows (accumulator halves 0 and 1) and the first key
  // each may not see.
  const int row0 = cons * 64 + 16 * warp + lane / 4;
  const int lim[2] = {kt_key_limit(w, w.firstRow + row0, Sq, Skv),
                      kt_key_limit(w, w.firstRow + row0 + 8, Sq, Skv)};

  float o[KT_D / 2];
#pragma unroll
  for (int i = 0; i < KT_D / 2; ++i) {
    o[i] = 0.0f;
  }
  float m[2] = {KT_NEG_INF, KT_NEG_INF}; // running row max (log2 domain)
  float l[2] = {0.0f, 0.0f};           // running row sum, this thread's part
  const u32 qBase = kt_smem(sQ) + cons * 64 * 128;

#if KT_OVERLAP == 0
  int it = ring;
  for (int blk = w.blkBegin; blk < w.blkEnd; ++blk, ++it) {
    const int st = it % KT_STAGES;
    const u32 phase = (it / KT_STAGES) & 1;

    // S = Q K^T.
    float sc[KT_KV / 2];
#pragma unroll
    for (int i = 0; i < KT_KV / 2; ++i) {
      sc[i] = 0.0f;
    }
    kt_bar_wait(&fullK[st], phase);
    const u32 kBase = kt_smem(sK + st * KT_KV_ELEMS);
    kt_wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < KT_D / 16; ++kk) {
      kt_wgmma_s(sc,
                 kt_desc(qBase + (kk / 4) * KT_ROWS * 128 + (kk % 4) * 32, 16,
                         1024),
                 kt_desc(kBase + (kk / 4) * KT_KV * 128 + (kk % 4) * 32, 16,
                         1024));
    }
    kt_wgmma_commit();
    kt_wgmma_wait<0>();

    // Element i of sc is row row0 + 8 * ((i / 2) % 2), key
    // blk * kv + 8 * (i / 4) + 2 * (lane % 4) + i % 2.
    if (blk >= w.unmasked) {
      const int key0 = blk * KT_KV + 2 * (lane % 4);
#pragma unroll
      for (int i = 0; i < KT_KV / 2; ++i) {
        if (key0 + 8 * (i / 4) + i % 2 >= lim[(i / 2) % 2]) {
          sc[i] = KT_NEG_INF;
        }
      }
    }

    // Online softmax: the block's row maxima over the quad that shares a
    // row, the rescale of what came before, P = exp2(S * scale - max).
    float mx[2] = {KT_NEG_INF, KT_NEG_INF};
#pragma unroll
    for (int i = 0; i < KT_KV / 2; ++i) {
      mx[(i / 2) % 2] = fmaxf(mx[(i / 2) % 2], sc[i]);
    }
    float base[2];
#if KT_LAZY
    // Lazy (FlashAttention-4): the rows keep their stale maxima, and O and
    // l stay as they are, unless a row of the warp would grow by more than
    // 8 (log2 units; P is then at most 2^8, and O / l at the end is exact);
    // then every row of the warp takes its new maximum and O is rescaled.
    // One vote, so the branch around the rescale is warp-uniform.
    float next[2];
    bool grow = false;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
      next[half] = fmaxf(m[half], mx[half] * scaleLog2);
      // -inf to a finite maximum is growth (+inf); -inf to -inf (NaN) is
      // not.
      grow = grow || next[half] - m[half] > 8.0f;
    }
    if (__any_sync(0xffffffffu, grow)) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float to = next[half] == KT_NEG_INF ? 0.0f : next[half];
        const float alpha = kt_exp2(m[half] - to);
        m[half] = next[half];
        l[half] *= alpha;
#pragma unroll
        for (int i = 0; i < KT_D / 2; ++i) {
          if ((i / 2) % 2 == half) {
            o[i] *= alpha;
          }
        }
      }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
      // exp2 at 0 instead of NaN.
      base[half] = m[half] == KT_NEG_INF ? 0.0f : m[half];
    }
#else
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
      const float next = fmaxf(m[half], mx[half] * scaleLog2);
      // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
      // exp2 at 0 instead of NaN.
      base[half] = next == KT_NEG_INF ? 0.0f : next;
      const float alpha = kt_exp2(m[half] - base[half]);
      m[half] = next;
      l[half] *= alpha;
#pragma unroll
      for (int i = 0; i < KT_D / 2; ++i) {
        if ((i / 2) % 2 == half) {
          o[i] *= alpha;
        }
      }
    }
#endif
    // P as wgmma A fragments: k16 step j takes sc[8j .. 8j + 7] in pairs.
    u32 pa[KT_KV / 16][4];
#pragma unroll
    for (int j = 0; j < KT_KV / 16; ++j) {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int i = 8 * j + 2 * q;
        const float p0 = kt_exp2(fmaf(sc[i], scaleLog2, -base[q % 2]));
        const float p1 = kt_exp2(fmaf(sc[i + 1], scaleLog2, -base[q % 2]));
        l[q % 2] += p0 + p1;
        pa[j][q] = kt_pack(p0, p1);
      }
    }

    // O += P V.
    kt_bar_wait(&fullV[st], phase);
    const u32 vBase = kt_smem(sV + st * KT_KV_ELEMS);
    kt_wgmma_fence();
#pragma unroll
    for (int j = 0; j < KT_KV / 16; ++j) {
      kt_wgmma_o(o, pa[j], kt_desc(vBase + j * 2048, KT_KV * 128, 1024));
    }
    kt_wgmma_commit();
    kt_wgmma_wait<0>();
    kt_bar_arrive(&emptyK[st]);
  }
#else
  // Element i of a score accumulator is row row0 + 8 * ((i / 2) % 2), key
  // blk * kv + 8 * (i / 4) + 2 * (lane % 4) + i % 2.
  const KtCtx c = {sK,        sV,     fullK,      fullV,
                   emptyK,    emptyV, qBase,      w.blkBegin,
                   w.unmasked, lane,  {lim[0], lim[1]}, scaleLog2, ring};
  const int n = w.blkEnd - w.blkBegin; // may be 0 (no key for any row)
  u32 pa[KT_KV / 16][4];
#if KT_OVERLAP == 1
  // Two score accumulators that swap roles every block: two blocks per
  // trip, so no copies.
  float sa[KT_KV / 2], sb[KT_KV / 2];
#pragma unroll
  for (int i = 0; i < KT_KV / 2; ++i) {
    sa[i] = sb[i] = 0.0f; // defined before the first fence, then ignored
  }
  kt_pin(sa);
  kt_pin(sb);
  // Every issue in a loop body is unconditional (the last block is peeled
  // off, and one or two blocks remain after the loop whenever there are
  // any): ptxas follows the wgmma pipeline through straight-line code only,
  // and serialises it where an issue may or may not have happened.
  if (n > 0) {
    kt_bar_wait(&fullK[kt_stage(c, 0)], kt_phase(c, 0));
    kt_issue_s(sa, c, kt_stage(c, 0));
    kt_wgmma_wait<0>();
    kt_pin(sa);
    kt_bar_arrive(&emptyK[kt_stage(c, 0)]);
    int j = 0;
    for (; j + 2 < n; j += 2) {
      kt_step(sa, sb, o, pa, m, l, c, j);
      kt_step(sb, sa, o, pa, m, l, c, j + 1);
    }
    if (j + 1 < n) {
      kt_step(sa, sb, o, pa, m, l, c, j);
      kt_last(sb, o, pa, m, l, c, j + 1);
    } else {
      kt_last(sa, o, pa, m, l, c, j);
    }
  }
#else
  // Per block j: the next block's scores and this block's P V are issued
  // back to back (one turn with pingpong), then the next block's softmax
  // runs while P V does. One score accumulator: it is free once packed
  // into pa. The output is rescaled and P written only while no product is
  // in flight. K stages are freed when their scores are done, V stages when
  // their P V is.
  float sc[KT_KV / 2];
#pragma unroll
  for (int i = 0; i < KT_KV / 2; ++i) {
    sc[i] = 0.0f; // defined before the first fence, then ignored
  }
  kt_pin(sc);
  float alpha[2];
  if (n > 0) {
    kt_turn_begin(cons);
    kt_bar_wait(&fullK[kt_stage(c, 0)], kt_phase(c, 0));
    kt_turn_wait(cons);
    kt_issue_s(sc, c, kt_stage(c, 0));
    kt_turn_pass(cons, false);
    kt_wgmma_wait<0>();
    kt_pin(sc);
    kt_bar_arrive(&emptyK[kt_stage(c, 0)]);
    kt_softmax(sc, m, l, alpha, c, w.blkBegin); // o is 0: no rescale
    kt_pack_p(sc, pa);
  }
  // Every issue in the loop body is unconditional (the last block is
  // peeled off): ptxas follows the wgmma pipeline through straight-line
  // code only, and serialises it where an issue may or may not have
  // happened.
  for (int j = 0; j + 1 < n; ++j) {
    const int st = kt_stage(c, j), sn = kt_stage(c, j + 1);
    kt_bar_wait(&fullK[sn], kt_phase(c, j + 1));
    kt_bar_wait(&fullV[st], kt_phase(c, j));
    kt_turn_wait(cons);
    kt_issue_s(sc, c, sn);
    kt_issue_o(o, pa, c, st);
    kt_turn_pass(cons, false);
    // The next scores are done (P V may still run).
    kt_wgmma_wait<1>();
    kt_pin(sc);
    kt_bar_arrive(&emptyK[sn]);
#if KT_LAZY
    const bool grew = kt_softmax(sc, m, l, alpha, c, w.blkBegin + j + 1);
#else
    kt_softmax(sc, m, l, alpha, c, w.blkBegin + j + 1);
#endif
    kt_wgmma_wait<0>();
    kt_pin(o);
    kt_pin(sc);
    kt_bar_arrive(&emptyV[st]);
#if KT_LAZY
    if (grew) {
      kt_rescale(o, alpha);
    }
#else
    kt_rescale(o, alpha);
#endif
    kt_pack_p(sc, pa);
  }
  if (n > 0) {
    const int st = kt_stage(c, n - 1);
    kt_bar_wait(&fullV[st], kt_phase(c, n - 1));
    kt_turn_wait(cons);
    kt_issue_o(o, pa, c, st);
    kt_turn_pass(cons, true);
    kt_wgmma_wait<0>();
    kt_pin(o);
    kt_bar_arrive(&emptyV[st]);
  }
#endif
#endif

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    l[half] += __shfl_xor_sync(0xffffffffu, l[half], 1);
    l[half] += __shfl_xor_sync(0xffffffffu, l[half], 2);
  }

#if KT_SPLIT > 1
  {
    // Partials row-major, per consumer: 64 rows of d outputs, then 64 row
    // maxima and 64 row sums, in the 64 x (d + 8) floats the launch
    // reserves per consumer (its semaphore). Only the tile's real rows are
    // written and merged (a packed decode tile has a few real rows of 64);
    // kt_merge_splits spreads them over the consumer's 128 threads.
    constexpr long long region = 64LL * (KT_D + 8);
    const long long part = KT_CONS * region;
    float *first =
        ws + static_cast<long long>(w.slot) * KT_SPLIT * part + cons * region;
    float *mine = first + w.split * part;
    const int real = min(64, w.unitRows - w.firstRow - cons * 64);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = 16 * warp + lane / 4 + 8 * half; // row within consumer
      if (r >= real) {
        continue;
      }
      float *dst = mine + r * KT_D + 2 * (lane % 4);
#pragma unroll
      for (int i = 2 * half; i < KT_D / 2; i += 4) {
        *reinterpret_cast<float2 *>(dst + 8 * (i / 4)) =
            make_float2(o[i], o[i + 1]);
      }
      if (lane % 4 == 0) {
        kt_split_stats(mine, 64, r, m[half], l[half]);
      }
    }
    __threadfence();
    kt_named_sync(1 + cons, 128);
    if (t == 0) {
      arrived[cons] = atomicAdd(&sems[w.slot * KT_CONS + cons], 1u);
    }
    kt_named_sync(1 + cons, 128);
    if (arrived[cons] != KT_SPLIT - 1) {
      return; // A later split finishes this tile.
    }
    __threadfence();
    kt_merge_splits(first, part, 64, real, cons * 64, w, O, Hq, Sq, t);
    if (t == 0) {
      sems[w.slot * KT_CONS + cons] = 0; // Ready for the next launch.
    }
  }
#else
  // Store O / l; a row that saw no key stores 0. Output element i of this
  // thread is row row0 + 8 * ((i / 2) % 2), column 8 * (i / 4) +
  // 2 * (lane % 4) + i % 2.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int lr = w.firstRow + row0 + 8 * half;
    if (lr >= w.unitRows) {
      continue;
    }
    int s, h;
    kt_row(lr, w.hu, s, h);
    u16 *out = O + kt_q_offset(w.b, h, s, Hq, Sq) + 2 * (lane % 4);
    const float inv = l[half] > 0.0f ? 1.0f / l[half] : 0.0f;
#pragma unroll
    for (int i = 2 * half; i < KT_D / 2; i += 4) {
      *reinterpret_cast<u32 *>(out + 8 * (i / 4)) =
          kt_pack(o[i] * inv, o[i + 1] * inv);
    }
  }
#endif
  ring += w.blkEnd - w.blkBegin;
  } // the tile
}
)CUDA";

/// kt_wgmma_s(): scores, m64 x kv x k16 from two K-major shared-memory
/// descriptors into kv / 2 f32 registers, added to them (acc = 1) or
/// replacing them (acc = 0: the scale-d operand). kt_wgmma_o(): the output,
/// m64 x d x k16 with P from four registers and V N-major (transposed) in
/// shared memory, into d / 2 f32 registers.
std::string wgmmaWrappers(const Params &q, const AttentionProblem &p) {
  const char *ty = p.dtype == DType::BF16 ? "bf16" : "f16";
  auto regList = [](int64_t n) {
    std::string list, outs;
    for (int64_t i = 0; i < n; ++i) {
      list += fmt::format("{}%{}", i ? ", " : "", i);
      outs += fmt::format("{}\"+f\"(d[{}])", i ? ", " : "", i);
    }
    return std::make_pair(list, outs);
  };
  const auto [sList, sOuts] = regList(q.kv / 2);
  const auto [oList, oOuts] = regList(p.d / 2);
  const int64_t sn = q.kv / 2, on = p.d / 2;
  std::string out = fmt::format(
      "static __device__ __forceinline__ void kt_wgmma_s(float (&d)[{0}], "
      "u64 da, u64 db, int acc = 1) {{\n"
      "  asm volatile(\"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{1}, 0;\\n"
      " wgmma.mma_async.sync.aligned.m64n{2}k16.f32.{3}.{3} {{{4}}}, %{5}, "
      "%{6}, p, 1, 1, 0, 0;\\n}}\"\n"
      "      : {7}\n"
      "      : \"r\"(acc), \"l\"(da), \"l\"(db));\n"
      "}}\n",
      sn, sn, q.kv, ty, sList, sn + 1, sn + 2, sOuts);
  out += fmt::format(
      "static __device__ __forceinline__ void kt_wgmma_o(float (&d)[{0}], "
      "const u32 (&a)[4], u64 db) {{\n"
      "  asm volatile(\"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{1}, 0;\\n"
      " wgmma.mma_async.sync.aligned.m64n{2}k16.f32.{3}.{3} {{{4}}}, "
      "{{%{5}, %{6}, %{7}, %{8}}}, %{9}, p, 1, 1, 1;\\n}}\"\n"
      "      : {10}\n"
      "      : \"r\"(1), \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), "
      "\"l\"(db));\n"
      "}}\n",
      on, on, p.d, ty, oList, on + 1, on + 2, on + 3, on + 4, on + 5, oOuts);
  return out;
}

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p) {
  const int64_t pack = q.pack ? p.hq / p.hkv : 1;
  // lazy=0 keeps the text it had before the parameter existed: no KT_LAZY
  // and its blocks resolved to their #else branches.
  std::string o = fmt::format(
      "// ktune cuda.attention.sm90: {} kv={} cons={} stages={} split={} "
      "pack={} overlap={} pingpong={}{}{}\n"
      "#define KT_D {}\n#define KT_ROWS {}\n#define KT_KV {}\n"
      "#define KT_STAGES {}\n#define KT_CONS {}\n#define KT_SPLIT {}\n"
      "#define KT_PACK {}\n#define KT_OVERLAP {}\n#define KT_PINGPONG {}\n"
      "#define KT_PERSIST {}\n"
      "{}#define KT_BSHD {}\n#define KT_CAUSAL {}\n"
      "#define KT_BF16 {}\n#define KT_SM100 0\n",
      p.key(), q.kv, q.cons, q.stages, q.split, q.pack, q.overlap, q.pingpong,
      q.lazy ? " lazy=1" : "", q.persist ? " persist=1" : "", p.d, rows(q),
      q.kv, q.stages, q.cons, q.split, pack, q.overlap, q.pingpong, q.persist,
      q.lazy ? "#define KT_LAZY 1\n" : "",
      p.layout == AttentionProblem::Layout::BSHD ? 1 : 0, p.causal ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0);
  // With overlap the producer loads K and V on their own barriers
  // (kt_load_block), and the shared helpers' kt_load_kv goes unused.
  const std::string shared =
      q.overlap ? std::string("#pragma nv_diagnostic push\n"
                              "#pragma nv_diag_suppress 177 // kt_load_kv\n") +
                      cudaattn::deviceSource() + "#pragma nv_diagnostic pop\n"
                : std::string(cudaattn::deviceSource());
  return o + cudagemm::coreSource() + cudagemm::packSource() + shared +
         wgmmaWrappers(q, p) +
         (q.lazy ? std::string(kBody)
                 // Only the #else branches of the KT_LAZY blocks: a lazy=0
                 // kernel is the text it was before the parameter existed.
                 : cudagemm::resolveIf(kBody, "KT_LAZY", false));
}

} // namespace kt::attn90
