#include "CudaAttentionCommon.h"

namespace kt::cudaattn {

const char *deviceSource() {
  return R"CUDA(
// ---- attention helpers ----
#define KT_NEG_INF __int_as_float(0xff800000u)

static __device__ __forceinline__ float kt_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Shared-memory writes of the generic proxy (the Q tile) made visible to
// the async proxy (tensor-core operands).
static __device__ __forceinline__ void kt_fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
}

// Barrier `id` among `threads` threads (whole warps).
static __device__ __forceinline__ __attribute__((unused)) void
kt_named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

constexpr int KT_CHUNKS = KT_D / 64;       // 64-wide (128-byte) column chunks
constexpr int KT_Q_ELEMS = KT_ROWS * KT_D;  // the Q tile
constexpr int KT_KV_ELEMS = KT_KV * KT_D;   // one K or V block
constexpr u32 KT_KV_BYTES = KT_KV_ELEMS * 2;

// Packed row `lr` of a tile's head unit `hu` -> query position and head.
static __device__ __forceinline__ void kt_row(int lr, int hu, int &s, int &h) {
#if KT_PACK > 1
  s = lr / KT_PACK;
  h = hu * KT_PACK + lr % KT_PACK;
#else
  s = lr;
  h = hu;
#endif
}

// Element offset of (b, h, s, 0) in Q or O.
static __device__ __forceinline__ long long kt_q_offset(int b, int h, int s,
                                                        int Hq, int Sq) {
#if KT_BSHD
  return ((static_cast<long long>(b) * Sq + s) * Hq + h) * KT_D;
#else
  return ((static_cast<long long>(b) * Hq + h) * Sq + s) * KT_D;
#endif
}

// What one CTA computes: the work unit ((tile rank, batch, head unit),
// split), the heaviest (last, for causal) query tiles first; the KV blocks
// of its split; the first block that needs masking (the ragged end of
// Skv, or causal blocks past the first row's diagonal).
struct KtWork {
  int b, hu, kvh, split, slot, firstRow, unitRows;
  int blkBegin, blkEnd, unmasked;
};

// Head units (KV heads when GQA rows are packed, query heads otherwise)
// and query tiles of one (batch, head unit).
static __device__ __forceinline__ int kt_head_units(int Hq, int Hkv) {
  return KT_PACK > 1 ? Hkv : Hq;
}
static __device__ __forceinline__ int kt_tiles(int Sq) {
  return (Sq * KT_PACK + KT_ROWS - 1) / KT_ROWS;
}

static __device__ __forceinline__ KtWork kt_work_at(unsigned unit, int B,
                                                    int Hq, int Hkv, int Sq,
                                                    int Skv) {
  KtWork w;
  const int hUnits = kt_head_units(Hq, Hkv);
  w.unitRows = Sq * KT_PACK;
  const int tiles = kt_tiles(Sq);
  w.split = unit % KT_SPLIT;
  w.slot = unit / KT_SPLIT; // the tile's workspace slot
  w.hu = w.slot % hUnits;
  w.b = (w.slot / hUnits) % B;
  const int tile = tiles - 1 - w.slot / (hUnits * B);
  w.kvh = KT_PACK > 1 ? w.hu : w.hu / (Hq / Hkv);
  w.firstRow = tile * KT_ROWS;
  const int lastRow = min(w.unitRows, w.firstRow + KT_ROWS) - 1;
  int kvEnd = Skv;
  w.unmasked = Skv / KT_KV;
#if KT_CAUSAL
  kvEnd = max(0, min(Skv, lastRow / KT_PACK + Skv - Sq + 1));
  w.unmasked =
      min(w.unmasked, max(0, w.firstRow / KT_PACK + Skv - Sq + 1) / KT_KV);
#endif
  const int blocks = (kvEnd + KT_KV - 1) / KT_KV;
  const int per = (blocks + KT_SPLIT - 1) / KT_SPLIT;
  w.blkBegin = min(blocks, w.split * per);
  w.blkEnd = min(blocks, w.blkBegin + per);
  return w;
}

// The work units of a launch: query tiles x head units x batch x splits.
// One CTA each, unless the kernel is persistent (KT_PERSIST: CTAs stride
// over them by the grid size).
static __device__ __forceinline__ __attribute__((unused)) unsigned
kt_units(int B, int Hq, int Hkv, int Sq) {
  return unsigned(kt_tiles(Sq)) * kt_head_units(Hq, Hkv) * B * KT_SPLIT;
}

// This CTA's work unit (one per CTA).
static __device__ __forceinline__ __attribute__((unused)) KtWork
kt_work(int B, int Hq, int Hkv, int Sq, int Skv) {
  return kt_work_at(blockIdx.x, B, Hq, Hkv, Sq, Skv);
}

// The first key packed row `lr` may not see (Skv without a causal mask).
static __device__ __forceinline__ int kt_key_limit(const KtWork &w, int lr,
                                                   int Sq, int Skv) {
  int s, h;
  kt_row(lr, w.hu, s, h);
  return KT_CAUSAL ? max(0, min(Skv, s + Skv - Sq + 1)) : Skv;
}

// Tile rows [r0, r0 + rows) of Q into shared memory by `threads` threads
// (t the caller's index among them), 128-byte swizzled as TMA would (the
// 16-byte piece j of row r sits at piece j ^ (r % 8)); rows past the
// problem are zero.
static __device__ __forceinline__ void
kt_load_q(u16 *sQ, const u16 *__restrict__ Q, const KtWork &w, int Hq, int Sq,
          int r0, int rows, int t, int threads) {
  for (int i = t; i < rows * (KT_D / 8); i += threads) {
    const int r = r0 + i / (KT_D / 8), piece = i % (KT_D / 8);
    uint4 v = make_uint4(0u, 0u, 0u, 0u);
    if (w.firstRow + r < w.unitRows) {
      int s, h;
      kt_row(w.firstRow + r, w.hu, s, h);
      v = *reinterpret_cast<const uint4 *>(Q + kt_q_offset(w.b, h, s, Hq, Sq) +
                                           piece * 8);
    }
    *reinterpret_cast<uint4 *>(sQ + (piece / 8) * KT_ROWS * 64 + r * 64 +
                               ((piece % 8) ^ (r & 7)) * 8) = v;
  }
}

// K and V are TMA-copied as 2-D views: BSHD [b * Skv, Hkv * d],
// BHSD [b * Hkv * Skv, d]; a block is kv rows x 64 columns per chunk. Rows
// past a head's Skv belong to the next head or batch (or are zero-filled at
// the end of the tensor); their scores are masked and their P is 0.
static __device__ __forceinline__ void
kt_load_kv(u16 *sK, u16 *sV, const KtTensorMap *tmK, const KtTensorMap *tmV,
           u64 *fullK, u64 *fullV, const KtWork &w, int Hkv, int Skv,
           int blk) {
#if KT_BSHD
  const int x0 = w.kvh * KT_D, y0 = w.b * Skv;
#else
  const int x0 = 0, y0 = (w.b * Hkv + w.kvh) * Skv;
#endif
  kt_bar_expect_tx(fullK, KT_KV_BYTES);
#pragma unroll
  for (int c = 0; c < KT_CHUNKS; ++c) {
    kt_tma_load(sK + c * KT_KV * 64, tmK, fullK, x0 + c * 64, y0 + blk * KT_KV);
  }
  kt_bar_expect_tx(fullV, KT_KV_BYTES);
#pragma unroll
  for (int c = 0; c < KT_CHUNKS; ++c) {
    kt_tma_load(sV + c * KT_KV * 64, tmV, fullV, x0 + c * 64, y0 + blk * KT_KV);
  }
}

#if KT_SPLIT > 1
// A split's partial for `rows` rows: rows x KT_D unnormalised outputs
// (row-major, row r at region + r * KT_D), then the rows' maxima, then their
// sums. kt_split_stats() stores row r's maximum and sum.
static __device__ __forceinline__ void kt_split_stats(float *region, int rows,
                                                      int r, float m, float l) {
  region[rows * KT_D + r] = m;
  region[rows * KT_D + rows + r] = l;
}

// The last split of a tile merges the splits' partials and stores O: split
// sl's partial (laid out as above) is at first + sl * stride; its rows are
// the tile's rows row0.. and the first `real` of them exist. The real rows are
// spread over the 128 calling threads (t), four columns each; the loops over
// the splits are unrolled, so each thread's loads are independent. In split
// order (deterministic), each rescaled to the largest maximum; a row that
// saw no key stores 0.
static __device__ __forceinline__ void
kt_merge_splits(const float *first, long long stride, int rows, int real,
                int row0, const KtWork &w, u16 *O, int Hq, int Sq, int t) {
  const int maxAt = rows * KT_D, sumAt = rows * KT_D + rows;
  for (int e = t; e < real * (KT_D / 4); e += 128) {
    const int r = e / (KT_D / 4), col = 4 * (e % (KT_D / 4));
    float mx[KT_SPLIT];
    float top = KT_NEG_INF;
#pragma unroll
    for (int sl = 0; sl < KT_SPLIT; ++sl) {
      mx[sl] = __ldcg(first + sl * stride + maxAt + r);
      top = fmaxf(top, mx[sl]);
    }
    float sum = 0.0f;
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int sl = 0; sl < KT_SPLIT; ++sl) {
      const float *theirs = first + sl * stride;
      const float wt = top == KT_NEG_INF ? 0.0f : kt_exp2(mx[sl] - top);
      const float4 v =
          __ldcg(reinterpret_cast<const float4 *>(theirs + r * KT_D + col));
      sum += wt * __ldcg(theirs + sumAt + r);
      acc.x += wt * v.x;
      acc.y += wt * v.y;
      acc.z += wt * v.z;
      acc.w += wt * v.w;
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    int s, h;
    kt_row(w.firstRow + row0 + r, w.hu, s, h);
    u32 *out =
        reinterpret_cast<u32 *>(O + kt_q_offset(w.b, h, s, Hq, Sq) + col);
    out[0] = kt_pack(acc.x * inv, acc.y * inv);
    out[1] = kt_pack(acc.z * inv, acc.w * inv);
  }
}
#endif
)CUDA";
}

} // namespace kt::cudaattn
