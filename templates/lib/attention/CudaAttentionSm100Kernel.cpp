// The CUDA C++ text of the sm_100a attention family: the configuration as
// #defines, the CUDA helpers the GEMM families share, the attention helpers
// the sm_90a family shares, then the fixed kernel body (tcgen05 MMAs into
// tensor memory, one softmax thread per query row).
#include "CudaAttentionSm100Kernel.h"

#include "../gemm/CudaGemmCommon.h"
#include "../gemm/CudaGemmSm100Kernel.h"
#include "CudaAttentionCommon.h"

#include <fmt/format.h>

namespace kt::attn100 {
namespace {

constexpr const char *kMma = R"CUDA(
// ---- tcgen05 ----
// D (tensor memory) [+]= A B with A and B in shared memory.
static __device__ __forceinline__ void kt_mma_ss(u32 d, u64 da, u64 db,
                                                 u32 idesc, u32 accumulate) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %4, 0;\n"
               " tcgen05.mma.cta_group::1.kind::f16 [%0], %1, %2, %3, p;\n}" ::
                   "r"(d),
               "l"(da), "l"(db), "r"(idesc), "r"(accumulate));
}
// D (tensor memory) [+]= A B with A in tensor memory.
static __device__ __forceinline__ void kt_mma_ts(u32 d, u32 a, u64 db,
                                                 u32 idesc, u32 accumulate) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %4, 0;\n"
               " tcgen05.mma.cta_group::1.kind::f16 [%0], [%1], %2, %3, p;\n}" ::
                   "r"(d),
               "r"(a), "l"(db), "r"(idesc), "r"(accumulate));
}
)CUDA";

constexpr const char *kBody = R"CUDA(
// 16 32-bit columns into this thread's tensor-memory lane.
static __device__ __forceinline__ void kt_tmem_st16(u32 taddr, const u32 *r) {
  asm volatile("tcgen05.st.sync.aligned.32x32b.x16.b32 [%0], {%1, %2, %3, "
               "%4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16};" ::
                   "r"(taddr),
               "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]), "r"(r[4]),
               "r"(r[5]), "r"(r[6]), "r"(r[7]), "r"(r[8]), "r"(r[9]),
               "r"(r[10]), "r"(r[11]), "r"(r[12]), "r"(r[13]), "r"(r[14]),
               "r"(r[15])
               : "memory");
}
static __device__ __forceinline__ void kt_tmem_st_wait() {
  asm volatile("tcgen05.wait::st.sync.aligned;" ::: "memory");
}

// Tensor-memory columns of S (f32), P (16-bit pairs) and O (f32).
constexpr u32 KT_S_COL = 0;
constexpr u32 KT_P_COL = KT_KV;
constexpr u32 KT_O_COL = KT_KV + KT_KV / 2;

// Warp 0: TMA producer. Warp 1: allocates tensor memory and issues the
// MMAs. Warps 2-5: one thread per query row (tensor-memory lane
// 32 * (warp % 4) + lane): loads Q, runs the softmax on its row of S,
// writes P and rescales O in tensor memory, and stores the output.
extern "C" __global__ void __launch_bounds__(192, 1)
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
  u64 *empty = fullV + KT_STAGES;
  u64 *qReady = empty + KT_STAGES; // the softmax threads stored Q
  u64 *sFull = qReady + 1;         // S of the current block is in TMEM
  u64 *pReady = sFull + 1;         // P written, O rescaled
  u64 *oDone = pReady + 1;         // the block's P V has completed
  u32 *tmemSlot = reinterpret_cast<u32 *>(oDone + 1);
#if KT_SPLIT > 1
  u32 *arrived = tmemSlot + 1;
#endif

  const KtWork w = kt_work(B, Hq, Hkv, Sq, Skv);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&fullK[s], 1);
      kt_bar_init(&fullV[s], 1);
      kt_bar_init(&empty[s], 1);
    }
    kt_bar_init(qReady, 128);
    kt_bar_init(sFull, 1);
    kt_bar_init(pReady, 128);
    kt_bar_init(oDone, 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  if (warp == 1) {
    asm volatile("tcgen05.alloc.cta_group::1.sync.aligned.shared::cta.b32 "
                 "[%0], %1;" ::"r"(kt_smem(tmemSlot)),
                 "r"(KT_TMEM_COLS));
    asm volatile(
        "tcgen05.relinquish_alloc_permit.cta_group::1.sync.aligned;");
  }
  kt_tc_before_sync();
  __syncthreads();
  kt_tc_after_sync();
  const u32 tmem = *tmemSlot;
  const int blocks = w.blkEnd - w.blkBegin;

  if (warp == 0 && lane == 0) {
    for (int it = 0; it < blocks; ++it) {
      const int s = it % KT_STAGES;
      kt_bar_wait(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
      kt_load_kv(sK + s * KT_KV_ELEMS, sV + s * KT_KV_ELEMS, &tmK, &tmV,
                 &fullK[s], &fullV[s], w, Hkv, Skv, w.blkBegin + it);
    }
  } else if (warp == 1 && lane == 0 && blocks > 0) {
    kt_bar_wait(qReady, 0);
    kt_tc_after_sync();
    const u32 q = kt_smem(sQ);
    for (int it = 0; it < blocks; ++it) {
      const int st = it % KT_STAGES;
      const u32 phase = (it / KT_STAGES) & 1;
      // S = Q K^T (S's columns are free: the softmax threads read the last
      // block's S before they arrived on pReady, waited below).
      kt_bar_wait(&fullK[st], phase);
      kt_tc_after_sync();
      const u32 k = kt_smem(sK + st * KT_KV_ELEMS);
#pragma unroll
      for (int kk = 0; kk < KT_D / 16; ++kk) {
        kt_mma_ss(tmem + KT_S_COL,
                  kt_desc(q + (kk / 4) * KT_ROWS * 128 + (kk % 4) * 32, 16,
                          1024),
                  kt_desc(k + (kk / 4) * KT_KV * 128 + (kk % 4) * 32, 16,
                          1024),
                  KT_IDESC_S, kk != 0);
      }
      kt_mma_commit(sFull);
      // O += P V once P is written and O rescaled.
      kt_bar_wait(pReady, it & 1);
      kt_bar_wait(&fullV[st], phase);
      kt_tc_after_sync();
      const u32 v = kt_smem(sV + st * KT_KV_ELEMS);
#pragma unroll
      for (int kk = 0; kk < KT_KV / 16; ++kk) {
        kt_mma_ts(tmem + KT_O_COL, tmem + KT_P_COL + kk * 8,
                  kt_desc(v + kk * 2048, KT_KV * 128, 1024), KT_IDESC_O,
                  (it | kk) != 0);
      }
      kt_mma_commit(&empty[st]); // Frees the K / V stage.
      kt_mma_commit(oDone);
    }
  } else if (warp >= 2) {
    const int row = (warp % 4) * 32 + lane;
    const u32 lanes = static_cast<u32>((warp % 4) * 32) << 16;
    const int t = threadIdx.x - 64; // index among the 128 softmax threads
    kt_load_q(sQ, Q, w, Hq, Sq, 0, KT_ROWS, t, 128);
    kt_fence_proxy_async();
    kt_bar_arrive(qReady);
    const int lim = kt_key_limit(w, w.firstRow + row, Sq, Skv);
    float m = KT_NEG_INF, l = 0.0f;
    for (int it = 0; it < blocks; ++it) {
      const int blk = w.blkBegin + it;
      kt_bar_wait(sFull, it & 1);
      kt_tc_after_sync();
      float s[KT_KV];
#pragma unroll
      for (int c = 0; c < KT_KV; c += 16) {
        kt_tmem_ld16(tmem + lanes + KT_S_COL + c, s + c);
      }
      if (blk >= w.unmasked) {
#pragma unroll
        for (int c = 0; c < KT_KV; ++c) {
          if (blk * KT_KV + c >= lim) {
            s[c] = KT_NEG_INF;
          }
        }
      }
      float mx = KT_NEG_INF;
#pragma unroll
      for (int c = 0; c < KT_KV; ++c) {
        mx = fmaxf(mx, s[c]);
      }
#if KT_LAZY
      // Lazy rescaling: keep the stale maximum (P up to 2^8, exact after the
      // final O / l) unless some row of the warp outgrew it by more than 8,
      // so most blocks leave O in tensor memory untouched.
      const float grown = fmaxf(m, mx * scaleLog2);
      const float next =
          __any_sync(0xffffffffu, grown - m > 8.0f) ? grown : m;
#else
      const float next = fmaxf(m, mx * scaleLog2);
#endif
      // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
      // exp2 at 0 instead of NaN.
      const float base = next == KT_NEG_INF ? 0.0f : next;
      const float alpha = kt_exp2(m - base);
      m = next;
      l *= alpha;
      u32 p[KT_KV / 2];
#pragma unroll
      for (int c = 0; c < KT_KV; c += 2) {
        const float p0 = kt_exp2(fmaf(s[c], scaleLog2, -base));
        const float p1 = kt_exp2(fmaf(s[c + 1], scaleLog2, -base));
        l += p0 + p1;
        p[c / 2] = kt_pack(p0, p1);
      }
      // The previous block's P V must be done before P and O are touched.
      if (it > 0) {
        kt_bar_wait(oDone, (it - 1) & 1);
        kt_tc_after_sync();
        // Rescale O where some row of the warp raised its maximum (the
        // loads and stores are warp-wide).
        if (__any_sync(0xffffffffu, alpha != 1.0f)) {
#pragma unroll 1
          for (int c = 0; c < KT_D; c += 16) {
            float v[16];
            u32 r[16];
            kt_tmem_ld16(tmem + lanes + KT_O_COL + c, v);
#pragma unroll
            for (int i = 0; i < 16; ++i) {
              r[i] = __float_as_uint(v[i] * alpha);
            }
            kt_tmem_st16(tmem + lanes + KT_O_COL + c, r);
          }
        }
      }
#pragma unroll
      for (int c = 0; c < KT_KV / 2; c += 16) {
        kt_tmem_st16(tmem + lanes + KT_P_COL + c, p + c);
      }
      kt_tmem_st_wait();
      kt_tc_before_sync();
      kt_bar_arrive(pReady);
    }
    if (blocks > 0) {
      kt_bar_wait(oDone, (blocks - 1) & 1);
      kt_tc_after_sync();
    }

    // This row's output: O / l from tensor memory (0 for a row that saw no
    // key or a split with no block), 16 columns at a time.
    const int lr = w.firstRow + row;
    const bool store = lr < w.unitRows;
#if KT_SPLIT > 1
    // Split-KV, as in the sm90 kernel: the real rows' unnormalised outputs
    // go to the workspace row-major (128 rows of d, then 128 maxima and 128
    // sums) in the rows x (d + 8) floats per tile and split that the launch
    // reserves (two semaphores' worth); the last split to arrive merges
    // them (kt_merge_splits).
    constexpr long long stride = 128LL * (KT_D + 8);
    float *first = ws + static_cast<long long>(w.slot) * KT_SPLIT * stride;
    float *mine = first + w.split * stride;
    const int real = min(128, w.unitRows - w.firstRow);
#pragma unroll 1
    for (int c = 0; c < KT_D; c += 16) {
      float v[16] = {};
      if (blocks > 0) {
        kt_tmem_ld16(tmem + lanes + KT_O_COL + c, v); // warp-wide
      }
      if (store) {
#pragma unroll
        for (int i = 0; i < 16; i += 4) {
          *reinterpret_cast<float4 *>(mine + row * KT_D + c + i) =
              make_float4(v[i], v[i + 1], v[i + 2], v[i + 3]);
        }
      }
    }
    if (store) {
      kt_split_stats(mine, 128, row, m, l);
    }
    __threadfence();
    kt_named_sync(1, 128);
    if (t == 0) {
      *arrived = atomicAdd(&sems[w.slot], 1u);
    }
    kt_named_sync(1, 128);
    if (*arrived == KT_SPLIT - 1) {
      __threadfence();
      kt_merge_splits(first, stride, 128, real, 0, w, O, Hq, Sq, t);
      if (t == 0) {
        sems[w.slot] = 0; // Ready for the next launch.
      }
    }
#else
    int s, h;
    kt_row(store ? lr : 0, w.hu, s, h);
    u16 *out = O + kt_q_offset(w.b, h, s, Hq, Sq);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll 1
    for (int c = 0; c < KT_D; c += 16) {
      // (Without a block, tensor memory holds no output: store zeros.)
      float v[16] = {};
      if (blocks > 0) {
        kt_tmem_ld16(tmem + lanes + KT_O_COL + c, v);
      }
      if (store) {
        uint4 lo, hi;
        const float f = inv;
        lo.x = kt_pack(v[0] * f, v[1] * f);
        lo.y = kt_pack(v[2] * f, v[3] * f);
        lo.z = kt_pack(v[4] * f, v[5] * f);
        lo.w = kt_pack(v[6] * f, v[7] * f);
        hi.x = kt_pack(v[8] * f, v[9] * f);
        hi.y = kt_pack(v[10] * f, v[11] * f);
        hi.z = kt_pack(v[12] * f, v[13] * f);
        hi.w = kt_pack(v[14] * f, v[15] * f);
        *reinterpret_cast<uint4 *>(out + c) = lo;
        *reinterpret_cast<uint4 *>(out + c + 8) = hi;
      }
    }
#endif
  }
  kt_tc_before_sync();
  __syncthreads();
  if (warp == 1) {
    kt_tc_after_sync();
    asm volatile("tcgen05.dealloc.cta_group::1.sync.aligned.b32 %0, %1;" ::"r"(
                     tmem),
                 "r"(KT_TMEM_COLS));
  }
}
)CUDA";

} // namespace

uint32_t instructionDescriptor(const AttentionProblem &p, int64_t n,
                               bool bMnMajor) {
  uint32_t d = 0;
  d |= 1u << 4; // D: f32
  const uint32_t fmt = p.dtype == DType::BF16 ? 1u : 0u;
  d |= fmt << 7;                   // A: bf16 / f16
  d |= fmt << 10;                  // B: bf16 / f16
  d |= (bMnMajor ? 1u : 0u) << 16; // B: 0 K-major, 1 N-major
  d |= uint32_t(n >> 3) << 17;     // N / 8
  d |= uint32_t(kRows >> 4) << 24; // M / 16
  return d;
}

std::string kernelSource(const Params &q, const AttentionProblem &p) {
  const int64_t pack = q.pack ? p.hq / p.hkv : 1;
  return fmt::format(
             "// ktune cuda.attention.sm100: {} kv={} stages={} split={} "
             "pack={} lazy={}\n"
             "#define KT_D {}\n#define KT_ROWS {}\n#define KT_KV {}\n"
             "#define KT_STAGES {}\n#define KT_SPLIT {}\n#define KT_PACK {}\n"
             "#define KT_LAZY {}\n"
             "#define KT_BSHD {}\n#define KT_CAUSAL {}\n#define KT_BF16 {}\n"
             "#define KT_SM100 1\n#define KT_TMEM_COLS {}\n"
             "#define KT_IDESC_S {}u\n#define KT_IDESC_O {}u\n",
             p.key(), q.kv, q.stages, q.split, q.pack, q.lazy, p.d, kRows, q.kv,
             q.stages, q.split, pack, q.lazy,
             p.layout == AttentionProblem::Layout::BSHD ? 1 : 0,
             p.causal ? 1 : 0, p.dtype == DType::BF16 ? 1 : 0,
             tmemColumns(q, p.d), instructionDescriptor(p, q.kv, false),
             instructionDescriptor(p, p.d, true)) +
         cudagemm::coreSource() + cudagemm::packSource() +
         cudaattn::deviceSource() + kMma + sm100::tcgen05Source() + kBody;
}

} // namespace kt::attn100
