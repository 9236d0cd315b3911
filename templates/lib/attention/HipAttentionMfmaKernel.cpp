// The HIP C++ text of hip.attention.mfma: the configuration as #defines, the
// MFMA preamble and conversions the GEMM family shares, then the fixed body.
#include "HipAttentionMfmaKernel.h"

#include "../gemm/HipGemmMfmaKernel.h"

#include <fmt/format.h>

namespace kt::attnmfma {
namespace {

// S^T = K Q^T and O^T = V^T P^T, so that every accumulator a lane holds
// belongs to one query (lane % 16): the softmax statistics are per lane,
// and the scores' accumulator layout is the B-operand layout of the next
// product (keys taken in a fixed permutation that V^T's fragments follow).
// The body is cut at the online softmax, which lazy=1 replaces.
constexpr const char *kBodyHead = R"HIP(
#define KT_VALS (KT_MFMA_K / 4)          // K values per lane per MFMA
#define KT_THREADS (KT_WAVES * 64)
#define KT_ROWS (KT_WAVES * KT_MI * 16)  // query rows per workgroup
#define KT_KP (KT_D + 8)                 // LDS pitch of K rows
#define KT_VP (KT_BKV + 8)               // LDS pitch of V^T rows
#define KT_DSTEPS (KT_D / KT_MFMA_K)     // MFMAs along d per score block
#define KT_PSTEPS (KT_BKV / KT_MFMA_K)   // MFMAs along the keys for P V
#define KT_TB (KT_BKV / 16)              // 16-key score blocks
#define KT_DB (KT_D / 16)                // 16-wide output blocks
#define KT_NEG_INF (-__builtin_inff())
typedef __attribute__((ext_vector_type(4))) unsigned short u16x4;
typedef __attribute__((ext_vector_type(KT_VALS))) unsigned short u16xv;

static __device__ __forceinline__ int kt_min(int a, int b) {
  return a < b ? a : b;
}
static __device__ __forceinline__ int kt_max(int a, int b) {
  return a > b ? a : b;
}
static __device__ __forceinline__ float kt_exp2(float x) {
  return __builtin_amdgcn_exp2f(x);
}
// The value of lane `lane ^ mask`.
static __device__ __forceinline__ float kt_xor(float v, int mask, int lane) {
  return __builtin_bit_cast(
      float, __builtin_amdgcn_ds_bpermute((lane ^ mask) << 2,
                                          __builtin_bit_cast(int, v)));
}

// Packed row `lr` of a head unit `hu` -> query position and head.
static __device__ __forceinline__ void kt_row(int lr, int hu, int &s, int &h) {
#if KT_PACK > 1
  s = lr / KT_PACK;
  h = hu * KT_PACK + lr % KT_PACK;
#else
  s = lr;
  h = hu;
#endif
}
static __device__ __forceinline__ long long kt_q_offset(int b, int h, int s,
                                                        int Hq, int Sq) {
#if KT_BSHD
  return ((static_cast<long long>(b) * Sq + s) * Hq + h) * KT_D;
#else
  return ((static_cast<long long>(b) * Hq + h) * Sq + s) * KT_D;
#endif
}
static __device__ __forceinline__ long long kt_kv_offset(int b, int h, int s,
                                                         int Hkv, int Skv) {
#if KT_BSHD
  return ((static_cast<long long>(b) * Skv + s) * Hkv + h) * KT_D;
#else
  return ((static_cast<long long>(b) * Hkv + h) * Skv + s) * KT_D;
#endif
}

// KV block `blk` of head (b, kvh) into LDS: K as [key][d], V transposed as
// [d][key]; keys past Skv are zero.
static __device__ __forceinline__ void
kt_load_kv(u16 *sK, u16 *sVt, const u16 *__restrict__ K,
           const u16 *__restrict__ V, int b, int kvh, int Hkv, int Skv,
           int blk, int tid) {
  constexpr int chunks = KT_D / 8;
  for (int c = tid; c < KT_BKV * chunks; c += KT_THREADS) {
    const int key = c / chunks, d0 = (c % chunks) * 8;
    const int j = blk * KT_BKV + key;
    u16x8 k = {0, 0, 0, 0, 0, 0, 0, 0}, v = k;
    if (j < Skv) {
      const long long at = kt_kv_offset(b, kvh, j, Hkv, Skv) + d0;
      k = *reinterpret_cast<const u16x8 *>(K + at);
      v = *reinterpret_cast<const u16x8 *>(V + at);
    }
    *reinterpret_cast<u16x8 *>(sK + key * KT_KP + d0) = k;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      sVt[(d0 + e) * KT_VP + key] = v[e];
    }
  }
}

// Kernel arguments: Q, K, V and O dense in the problem's layout; split
// kernels (KT_SPLIT > 1) take an f32 workspace and zeroed semaphores, one
// per query tile, left zeroed. One workgroup per (tile rank, batch, head
// unit, split), heaviest causal tiles first.
extern "C" __attribute__((global))
__attribute__((amdgpu_flat_work_group_size(KT_THREADS, KT_THREADS))) void
kt_attention(const u16 *__restrict__ Q, const u16 *__restrict__ K,
             const u16 *__restrict__ V, u16 *__restrict__ O, int B, int Hq,
             int Hkv, int Sq, int Skv, float scaleLog2,
             float *__restrict__ ws, u32 *__restrict__ sems) {
  __shared__ __attribute__((aligned(16))) u16 sK[KT_STAGES][KT_BKV * KT_KP];
  __shared__ __attribute__((aligned(16))) u16 sVt[KT_STAGES][KT_D * KT_VP];
  const int tid = __builtin_amdgcn_workitem_id_x();
  const int wave = tid / 64, lane = tid % 64;
  const int hUnits = KT_PACK > 1 ? Hkv : Hq;
  const int unitRows = Sq * KT_PACK;
  const int tiles = (unitRows + KT_ROWS - 1) / KT_ROWS;
  const int wg = __builtin_amdgcn_workgroup_id_x();
  const int split = wg % KT_SPLIT;
  const int slot = wg / KT_SPLIT;
  const int hu = slot % hUnits;
  const int b = (slot / hUnits) % B;
  const int tile = tiles - 1 - slot / (hUnits * B);
  const int kvh = KT_PACK > 1 ? hu : hu / (Hq / Hkv);
  const int firstRow = tile * KT_ROWS;
  const int lastRow = kt_min(unitRows, firstRow + KT_ROWS) - 1;

  int kvEnd = Skv;
  int unmasked = Skv / KT_BKV;
#if KT_CAUSAL
  kvEnd = kt_max(0, kt_min(Skv, lastRow / KT_PACK + Skv - Sq + 1));
  unmasked = kt_min(unmasked, kt_max(0, firstRow / KT_PACK + Skv - Sq + 1) / KT_BKV);
#endif
  const int blocks = (kvEnd + KT_BKV - 1) / KT_BKV;
  const int per = (blocks + KT_SPLIT - 1) / KT_SPLIT;
  const int blkBegin = kt_min(blocks, split * per);
  const int blkEnd = kt_min(blocks, blkBegin + per);

  // This lane's queries (one per 16-row block i: row lane % 16 of it), their
  // Q fragments (d values kk * KT_MFMA_K + (lane / 16) * KT_VALS + [0,
  // KT_VALS)) and the first key each may not see.
  kt_frag qf[KT_MI][KT_DSTEPS];
  int lim[KT_MI];
#pragma unroll
  for (int i = 0; i < KT_MI; ++i) {
    const int lr = firstRow + (wave * KT_MI + i) * 16 + lane % 16;
    int s = 0, h = hu;
    if (lr < unitRows) {
      kt_row(lr, hu, s, h);
    }
    lim[i] = KT_CAUSAL ? kt_max(0, kt_min(Skv, s + Skv - Sq + 1)) : Skv;
    const u16 *q = Q + kt_q_offset(b, h, s, Hq, Sq) + (lane / 16) * KT_VALS;
#pragma unroll
    for (int kk = 0; kk < KT_DSTEPS; ++kk) {
      u16xv v = {};
      if (lr < unitRows) {
        v = *reinterpret_cast<const u16xv *>(q + kk * KT_MFMA_K);
      }
      qf[i][kk] = __builtin_bit_cast(kt_frag, v);
    }
  }

  f32x4 o[KT_DB][KT_MI];
  float m[KT_MI], l[KT_MI];
#pragma unroll
  for (int i = 0; i < KT_MI; ++i) {
    m[i] = KT_NEG_INF;
    l[i] = 0.0f;
#pragma unroll
    for (int db = 0; db < KT_DB; ++db) {
      o[db][i] = f32x4{0.0f, 0.0f, 0.0f, 0.0f};
    }
  }

  if (blkBegin < blkEnd) {
    kt_load_kv(sK[0], sVt[0], K, V, b, kvh, Hkv, Skv, blkBegin, tid);
  }
  kt_barrier();
  for (int blk = blkBegin; blk < blkEnd; ++blk) {
    const int cur = KT_STAGES > 1 ? (blk - blkBegin) & 1 : 0;
#if KT_STAGES > 1
    if (blk + 1 < blkEnd) {
      kt_load_kv(sK[cur ^ 1], sVt[cur ^ 1], K, V, b, kvh, Hkv, Skv, blk + 1,
                 tid);
    }
#endif
    // S^T: element r of sc[t][i] is key blk * KT_BKV + t * 16 +
    // (lane / 16) * 4 + r for the lane's query of block i.
    f32x4 sc[KT_TB][KT_MI];
#pragma unroll
    for (int t = 0; t < KT_TB; ++t) {
#pragma unroll
      for (int i = 0; i < KT_MI; ++i) {
        sc[t][i] = f32x4{0.0f, 0.0f, 0.0f, 0.0f};
      }
#pragma unroll
      for (int kk = 0; kk < KT_DSTEPS; ++kk) {
        const kt_frag a = *reinterpret_cast<const kt_frag *>(
            &sK[cur][(t * 16 + lane % 16) * KT_KP + kk * KT_MFMA_K +
                     (lane / 16) * KT_VALS]);
#pragma unroll
        for (int i = 0; i < KT_MI; ++i) {
          sc[t][i] = KT_MFMA(a, qf[i][kk], sc[t][i], 0, 0, 0);
        }
      }
    }
    if (blk >= unmasked) {
#pragma unroll
      for (int t = 0; t < KT_TB; ++t) {
#pragma unroll
        for (int i = 0; i < KT_MI; ++i) {
#pragma unroll
          for (int r = 0; r < 4; ++r) {
            if (blk * KT_BKV + t * 16 + (lane / 16) * 4 + r >= lim[i]) {
              sc[t][i][r] = KT_NEG_INF;
            }
          }
        }
      }
    })HIP";

// The online softmax of a KV block (eager: O and l are rescaled whenever a
// query's maximum rises).
constexpr const char *kSoftmaxEager = R"HIP(
    // Online softmax per query: the block maximum over the lane's keys and
    // the three other lanes of its query (lane ^ 16, lane ^ 32).
    float base[KT_MI];
#pragma unroll
    for (int i = 0; i < KT_MI; ++i) {
      float mx = KT_NEG_INF;
#pragma unroll
      for (int t = 0; t < KT_TB; ++t) {
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          mx = __builtin_fmaxf(mx, sc[t][i][r]);
        }
      }
      mx = __builtin_fmaxf(mx, kt_xor(mx, 16, lane));
      mx = __builtin_fmaxf(mx, kt_xor(mx, 32, lane));
      const float next = __builtin_fmaxf(m[i], mx * scaleLog2);
      base[i] = next == KT_NEG_INF ? 0.0f : next;
      const float alpha = kt_exp2(m[i] - base[i]);
      m[i] = next;
      l[i] *= alpha;
#pragma unroll
      for (int db = 0; db < KT_DB; ++db) {
        o[db][i] *= alpha;
      }
    })HIP";

// The lazy variant (lazy=1).
constexpr const char *kSoftmaxLazy = R"HIP(
    // Online softmax per query, lazy (FlashAttention-4): the block maximum
    // over the lane's keys and the three other lanes of its query, as above,
    // but a query keeps its stale maximum m until a block outgrows it by
    // more than 8 (log2 units), and O and l stay as they are. Scores are then
    // at most m + 8: P <= 2^8 (within fp16 and bf16) and l <= 2^8 * Skv, and
    // O / l at the end is exact, numerator and denominator being taken
    // against the same maximum (so are a split's partials). The test is
    // wave-wide, one ballot and a uniform branch: when any query of the wave
    // crosses the threshold, all of its queries take their grown maxima and
    // rescale O and l (a per-lane test would mask lanes inside the branch
    // and take it as often as any lane needs it).
    float base[KT_MI], grown[KT_MI];
    bool over = false;
#pragma unroll
    for (int i = 0; i < KT_MI; ++i) {
      float mx = KT_NEG_INF;
#pragma unroll
      for (int t = 0; t < KT_TB; ++t) {
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          mx = __builtin_fmaxf(mx, sc[t][i][r]);
        }
      }
      mx = __builtin_fmaxf(mx, kt_xor(mx, 16, lane));
      mx = __builtin_fmaxf(mx, kt_xor(mx, 32, lane));
      grown[i] = __builtin_fmaxf(m[i], mx * scaleLog2);
      // -inf - -inf is NaN: a query that has seen no key stays as it is.
      over = over || grown[i] - m[i] > 8.0f;
    }
    if (__builtin_amdgcn_ballot_w64(over) != 0) {
#pragma unroll
      for (int i = 0; i < KT_MI; ++i) {
        const float to = grown[i] == KT_NEG_INF ? 0.0f : grown[i];
        const float scale = kt_exp2(m[i] - to);
        m[i] = grown[i];
        l[i] *= scale;
#pragma unroll
        for (int db = 0; db < KT_DB; ++db) {
          o[db][i] *= scale;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < KT_MI; ++i) {
      base[i] = m[i] == KT_NEG_INF ? 0.0f : m[i];
    })HIP";

// After the softmax: P V, the split merge and the store.
constexpr const char *kBodyTail = R"HIP(
    // O^T += V^T P^T, one MFMA per KT_MFMA_K keys: P's B fragment is the
    // lane's scores of 16-key blocks (one on gfx942; two on gfx950, keys
    // g * 4 + [0, 4) then 16 + g * 4 + [0, 4) for g = lane / 16), and V^T's
    // A fragment reads the same keys.
#pragma unroll
    for (int u = 0; u < KT_PSTEPS; ++u) {
      kt_frag pf[KT_MI];
#pragma unroll
      for (int i = 0; i < KT_MI; ++i) {
        u16xv bits;
#pragma unroll
        for (int e = 0; e < KT_VALS; ++e) {
          const float p = kt_exp2(
              __builtin_fmaf(sc[u * (KT_VALS / 4) + e / 4][i][e % 4], scaleLog2,
                   -base[i]));
          l[i] += p;
          bits[e] = kt_from_f32(p);
        }
        pf[i] = __builtin_bit_cast(kt_frag, bits);
      }
#pragma unroll
      for (int db = 0; db < KT_DB; ++db) {
        const u16 *vt = &sVt[cur][(db * 16 + lane % 16) * KT_VP +
                                  u * KT_MFMA_K + (lane / 16) * 4];
        u16xv bits;
#pragma unroll
        for (int h = 0; h < KT_VALS / 4; ++h) {
          const u16x4 part = *reinterpret_cast<const u16x4 *>(vt + h * 16);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            bits[h * 4 + e] = part[e];
          }
        }
        const kt_frag a = __builtin_bit_cast(kt_frag, bits);
#pragma unroll
        for (int i = 0; i < KT_MI; ++i) {
          o[db][i] = KT_MFMA(a, pf[i], o[db][i], 0, 0, 0);
        }
      }
    }
    kt_barrier();
#if KT_STAGES == 1
    if (blk + 1 < blkEnd) {
      kt_load_kv(sK[0], sVt[0], K, V, b, kvh, Hkv, Skv, blk + 1, tid);
      kt_barrier();
    }
#endif
  }
#pragma unroll
  for (int i = 0; i < KT_MI; ++i) {
    l[i] += kt_xor(l[i], 16, lane);
    l[i] += kt_xor(l[i], 32, lane);
  }

#if KT_SPLIT > 1
  {
    // This lane's partials, KT_THREADS lanes apart: the outputs, then the
    // maxima and sums of its queries.
    constexpr int part = KT_MI * (KT_DB * 4 + 2);
    const long long stride = static_cast<long long>(part) * KT_THREADS;
    float *first = ws + static_cast<long long>(slot) * KT_SPLIT * stride;
    float *mine = first + split * stride;
#pragma unroll
    for (int i = 0; i < KT_MI; ++i) {
#pragma unroll
      for (int db = 0; db < KT_DB; ++db) {
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          mine[((i * KT_DB + db) * 4 + r) * KT_THREADS + tid] = o[db][i][r];
        }
      }
      mine[(KT_MI * KT_DB * 4 + 2 * i) * KT_THREADS + tid] = m[i];
      mine[(KT_MI * KT_DB * 4 + 2 * i + 1) * KT_THREADS + tid] = l[i];
    }
    __shared__ u32 arrived;
    __builtin_amdgcn_fence(__ATOMIC_RELEASE, "agent");
    kt_barrier();
    if (tid == 0) {
      // Device scope: __atomic_fetch_add's system scope writes back and
      // invalidates the whole L2 around the add. The fences order the
      // workspace, so the add itself is relaxed.
      arrived = __scoped_atomic_fetch_add(&sems[slot], 1u, __ATOMIC_RELAXED,
                                          __MEMORY_SCOPE_DEVICE);
    }
    kt_barrier();
    if (arrived != KT_SPLIT - 1) {
      return; // A later split finishes this tile.
    }
    __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "agent");
#pragma unroll
    for (int i = 0; i < KT_MI; ++i) {
      float top = KT_NEG_INF;
      for (int sl = 0; sl < KT_SPLIT; ++sl) {
        top = __builtin_fmaxf(top, first[sl * stride +
                               (KT_MI * KT_DB * 4 + 2 * i) * KT_THREADS + tid]);
      }
      float sum = 0.0f;
      f32x4 acc[KT_DB];
#pragma unroll
      for (int db = 0; db < KT_DB; ++db) {
        acc[db] = f32x4{0.0f, 0.0f, 0.0f, 0.0f};
      }
      for (int sl = 0; sl < KT_SPLIT; ++sl) {
        const float *theirs = first + sl * stride;
        const float mh =
            theirs[(KT_MI * KT_DB * 4 + 2 * i) * KT_THREADS + tid];
        const float w = top == KT_NEG_INF ? 0.0f : kt_exp2(mh - top);
        sum += w * theirs[(KT_MI * KT_DB * 4 + 2 * i + 1) * KT_THREADS + tid];
#pragma unroll
        for (int db = 0; db < KT_DB; ++db) {
#pragma unroll
          for (int r = 0; r < 4; ++r) {
            acc[db][r] +=
                w * theirs[((i * KT_DB + db) * 4 + r) * KT_THREADS + tid];
          }
        }
      }
#pragma unroll
      for (int db = 0; db < KT_DB; ++db) {
        o[db][i] = acc[db];
      }
      l[i] = sum;
    }
    if (tid == 0) {
      sems[slot] = 0; // Ready for the next launch.
    }
  }
#endif

  // Store O / l (0 for a query that saw no key): element r of o[db][i] is
  // d = db * 16 + (lane / 16) * 4 + r of the lane's query of block i.
#pragma unroll
  for (int i = 0; i < KT_MI; ++i) {
    const int lr = firstRow + (wave * KT_MI + i) * 16 + lane % 16;
    if (lr >= unitRows) {
      continue;
    }
    int s, h;
    kt_row(lr, hu, s, h);
    u16 *out = O + kt_q_offset(b, h, s, Hq, Sq) + (lane / 16) * 4;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
    for (int db = 0; db < KT_DB; ++db) {
      u16x4 v;
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        v[r] = kt_from_f32(o[db][i][r] * inv);
      }
      *reinterpret_cast<u16x4 *>(out + db * 16) = v;
    }
  }
}
)HIP";

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch) {
  const int64_t pack = q.pack ? p.hq / p.hkv : 1;
  // lazy=0 keeps the text it had before the parameter existed.
  return fmt::format(
             "// ktune hip.attention.mfma: {} on {} waves={} mi={} kv={} "
             "stages={} split={} pack={}{}\n"
             "#define KT_D {}\n#define KT_WAVES {}\n#define KT_MI {}\n"
             "#define KT_BKV {}\n#define KT_STAGES {}\n#define KT_SPLIT {}\n"
             "#define KT_PACK {}\n#define KT_BSHD {}\n#define KT_CAUSAL {}\n"
             "#define KT_MFMA_K {}\n#define KT_BF16 {}\n",
             p.key(), arch, q.waves, q.mi, q.kv, q.stages, q.split, q.pack,
             q.lazy ? " lazy=1" : "", p.d, q.waves, q.mi, q.kv, q.stages,
             q.split, pack, p.layout == AttentionProblem::Layout::BSHD ? 1 : 0,
             p.causal ? 1 : 0, mfma::mfmaK(arch),
             p.dtype == DType::BF16 ? 1 : 0) +
         mfma::hipPreamble() + mfma::hipConversions() + kBodyHead +
         (q.lazy ? kSoftmaxLazy : kSoftmaxEager) + kBodyTail;
}

} // namespace kt::attnmfma
