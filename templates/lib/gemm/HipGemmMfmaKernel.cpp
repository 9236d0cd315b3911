// The HIP C++ text of hip.gemm.mfma: the configuration as #defines, then a
// fixed body that needs no ROCm headers (clang builtins only), so the same
// text compiles with hiprtc or with clang's device-only HIP mode.
#include "HipGemmMfmaKernel.h"

#include <fmt/format.h>

namespace kt::mfma {
namespace {

constexpr const char *kDefines =
    R"HIP(#define KT_KV (KT_MFMA_K / 4) // K values per lane of either MFMA
#define KT_LD (KT_BK + KT_PAD) // LDS row pitch (elements)
#define KT_THREADS ((KT_BM / KT_WM) * (KT_BN / KT_WN) * 64)
#define KT_MB (KT_WM / KT_MI) // MFMA blocks of a wave tile along M
#define KT_NB (KT_WN / KT_MI) // and along N
#define KT_ACC_N (KT_MI * KT_MI / 64) // f32 results per lane of a block
#if KT_MI == 32
// 32x32 blocks: v_mfma_f32_32x32x16_{bf16,f16} on gfx950,
// v_mfma_f32_32x32x8_{bf16,f16} on gfx942; the same kt_frag (KT_KV K values
// per lane) as the 16x16 MFMA, 16 results per lane.
#define KT_BLOCK_K (KT_MFMA_K / 2)
typedef __attribute__((ext_vector_type(16))) float kt_acc;
#if KT_MFMA_K == 32
#if KT_BF16
#define KT_MFMA_BLOCK __builtin_amdgcn_mfma_f32_32x32x16_bf16
#else
#define KT_MFMA_BLOCK __builtin_amdgcn_mfma_f32_32x32x16_f16
#endif
#else
#if KT_BF16
#define KT_MFMA_BLOCK __builtin_amdgcn_mfma_f32_32x32x8bf16_1k
#else
#define KT_MFMA_BLOCK __builtin_amdgcn_mfma_f32_32x32x8f16
#endif
#endif
#else
#define KT_BLOCK_K KT_MFMA_K
typedef f32x4 kt_acc;
#define KT_MFMA_BLOCK KT_MFMA
#endif
#define KT_CHUNKS(ROWS) ((ROWS) * KT_BK / 8) // 16-byte chunks of a tile
#define KT_PER_THREAD(ROWS) ((KT_CHUNKS(ROWS) + KT_THREADS - 1) / KT_THREADS)

)HIP";

// Everything before C's store: fetch, stash, the MFMA step, the result
// layout.
constexpr const char *kBodyHead =
    R"HIP(// A thread's chunks (chunk tid + i * KT_THREADS) of the next K step's
// ROWS x KT_BK operand tile, held in registers from their global loads to
// their LDS stores.
template <int ROWS> struct kt_chunks {
  u16x8 v[KT_PER_THREAD(ROWS)];
};

// Loads this thread's chunks of the ROWS x KT_BK tile of an operand at K
// offset k0, zeros outside the problem. K_MAJOR: the operand is stored with
// K contiguous (row r at src + r * ld); else K-outer (K row k at
// src + k * ld). rowEnd / K bound the problem. Every load is issued before
// any of them is waited for.
template <int ROWS, bool K_MAJOR>
static __device__ __forceinline__ void
kt_fetch(kt_chunks<ROWS> &f, const u16 *__restrict__ src, long long ld,
         int row0, int rowEnd, int k0, int K, int tid) {
#pragma unroll
  for (int i = 0; i < KT_PER_THREAD(ROWS); ++i) {
    const int c = tid + i * KT_THREADS;
    if (KT_CHUNKS(ROWS) % KT_THREADS != 0 && c >= KT_CHUNKS(ROWS)) {
      break;
    }
    u16x8 v;
    if (K_MAJOR) {
      constexpr int kChunks = KT_BK / 8;
      const int r = c / kChunks, kc = (c % kChunks) * 8;
      const int gr = row0 + r, gk = k0 + kc;
      if (gr < rowEnd && gk + 8 <= K) {
        v = *reinterpret_cast<const u16x8 *>(src + gr * ld + gk);
      } else {
        for (int j = 0; j < 8; ++j) {
          v[j] = (gr < rowEnd && gk + j < K) ? src[gr * ld + gk + j] : u16(0);
        }
      }
    } else {
      constexpr int rChunks = ROWS / 8;
      const int kr = c / rChunks, rc = (c % rChunks) * 8;
      const int gr = row0 + rc, gk = k0 + kr;
      if (gk < K && gr + 8 <= rowEnd) {
        v = *reinterpret_cast<const u16x8 *>(src + gk * ld + gr);
      } else {
        for (int j = 0; j < 8; ++j) {
          v[j] = (gk < K && gr + j < rowEnd) ? src[gk * ld + gr + j] : u16(0);
        }
      }
    }
    f.v[i] = v;
  }
}

// Stores the chunks kt_fetch loaded into an LDS tile [ROWS][KT_LD], K
// contiguous whatever the layout (K-outer chunks are transposed).
template <int ROWS, bool K_MAJOR>
static __device__ __forceinline__ void
kt_stash(u16 *lds, const kt_chunks<ROWS> &f, int tid) {
#pragma unroll
  for (int i = 0; i < KT_PER_THREAD(ROWS); ++i) {
    const int c = tid + i * KT_THREADS;
    if (KT_CHUNKS(ROWS) % KT_THREADS != 0 && c >= KT_CHUNKS(ROWS)) {
      break;
    }
    if (K_MAJOR) {
      constexpr int kChunks = KT_BK / 8;
      const int r = c / kChunks, kc = (c % kChunks) * 8;
      *reinterpret_cast<u16x8 *>(lds + r * KT_LD + kc) = f.v[i];
    } else {
      constexpr int rChunks = ROWS / 8;
      const int kr = c / rChunks, rc = (c % rChunks) * 8;
      for (int j = 0; j < 8; ++j) {
        lds[(rc + j) * KT_LD + kr] = f.v[i][j];
      }
    }
  }
}

// The MFMAs of one K step on the wave's wm x wn tile, from LDS tiles sA
// (bm rows) and sB (bn rows).
static __device__ __forceinline__ void
kt_mma_step(kt_acc (&acc)[KT_MB][KT_NB], const u16 *sA, const u16 *sB,
            int wr, int wc, int lane) {
#pragma unroll
  for (int kk = 0; kk < KT_BK / KT_BLOCK_K; ++kk) {
    // Lane l holds row (A) / column (B) l % KT_MI of a block, K values
    // kk * KT_BLOCK_K + (l / KT_MI) * KT_KV + [0, KT_KV).
    const int kOff = kk * KT_BLOCK_K + (lane / KT_MI) * KT_KV;
    kt_frag a[KT_MB], b[KT_NB];
#pragma unroll
    for (int i = 0; i < KT_MB; ++i) {
      a[i] = *reinterpret_cast<const kt_frag *>(
          &sA[(wr * KT_WM + i * KT_MI + lane % KT_MI) * KT_LD + kOff]);
    }
#pragma unroll
    for (int j = 0; j < KT_NB; ++j) {
      b[j] = *reinterpret_cast<const kt_frag *>(
          &sB[(wc * KT_WN + j * KT_MI + lane % KT_MI) * KT_LD + kOff]);
    }
#pragma unroll
    for (int i = 0; i < KT_MB; ++i) {
#pragma unroll
      for (int j = 0; j < KT_NB; ++j) {
        acc[i][j] = KT_MFMA_BLOCK(a[i], b[j], acc[i][j], 0, 0, 0);
      }
    }
  }
}

// The row within its block of result r of lane l: column l % KT_MI holds
// rows 4 * (l / KT_MI) + [0, 4) of each band of 256 / KT_MI rows (one band
// for 16x16 blocks; bands 8 * (r / 4) for 32x32).
static __device__ __forceinline__ int kt_acc_row(int lane, int r) {
  return (r / 4) * (256 / KT_MI) + (lane / KT_MI) * 4 + r % 4;
}

)HIP";

// C's store for a 16-bit C (the problem's dtype).
constexpr const char *kStore16 =
    R"HIP(// C[row][col] = alpha * v + beta * C[row][col] inside the problem (C is
// not read when beta is 0).
static __device__ __forceinline__ void kt_store(u16 *C, int row, int col,
                                                int M, int N, int ldc,
                                                float alpha, float beta,
                                                float v) {
  if (row < M && col < N) {
    u16 *c = C + static_cast<long long>(row) * ldc + col;
    float out = alpha * v;
    if (beta != 0.0f) {
      out += beta * kt_to_f32(*c);
    }
    *c = kt_from_f32(out);
  }
}

)HIP";

// An f32 C (outF32): the sum stored unrounded; beta reads the old C as f32.
constexpr const char *kStoreF32 =
    R"HIP(// C[row][col] = alpha * v + beta * C[row][col] inside the problem, C
// in f32, stored unrounded (C is not read when beta is 0).
static __device__ __forceinline__ void kt_store(float *C, int row, int col,
                                                int M, int N, int ldc,
                                                float alpha, float beta,
                                                float v) {
  if (row < M && col < N) {
    float *c = C + static_cast<long long>(row) * ldc + col;
    float out = alpha * v;
    if (beta != 0.0f) {
      out += beta * *c;
    }
    *c = out;
  }
}

)HIP";

// The kernel: its opening up to C's element type ("u16" or "float"), then
// the rest, whose epilogues (plain and split-K) all store through kt_store.
constexpr const char *kKernelOpen =
    R"HIP(extern "C" __attribute__((global))
__attribute__((amdgpu_flat_work_group_size(KT_THREADS, KT_THREADS))) void
kt_gemm(const u16 *__restrict__ A, const u16 *__restrict__ B,
        )HIP";

constexpr const char *kBodyTail =
    R"HIP( *__restrict__ C, int M, int N, int K, int lda, int ldb, int ldc,
        float alpha, float beta, float *workspace, unsigned *semaphores) {
  // Two buffers: one is filled while the other feeds the MFMAs.
  __shared__ __attribute__((aligned(16))) u16 sA[2][KT_BM * KT_LD];
  __shared__ __attribute__((aligned(16))) u16 sB[2][KT_BN * KT_LD];
  const int tid = __builtin_amdgcn_workitem_id_x();
  const int wave = tid / 64, lane = tid % 64;
  const int tilesN = (N + KT_BN - 1) / KT_BN;
  // Workgroup bid computes K slice bid % KT_SPLIT of tile bid / KT_SPLIT.
  const int bid = __builtin_amdgcn_workgroup_id_x();
  const int tile = bid / KT_SPLIT, slice = bid % KT_SPLIT;
  const int m0 = (tile / tilesN) * KT_BM, n0 = (tile % tilesN) * KT_BN;
  const int wr = wave / (KT_BN / KT_WN), wc = wave % (KT_BN / KT_WN);
  kt_acc acc[KT_MB][KT_NB];
  for (int i = 0; i < KT_MB; ++i) {
    for (int j = 0; j < KT_NB; ++j) {
      acc[i][j] = 0.0f;
    }
  }
  // The slice's K steps: [kBegin, kBegin + steps) of the kIters steps of
  // KT_BK, ceil(kIters / KT_SPLIT) per slice; the last slices may be shorter
  // or empty (steps <= 0: the partial tile is zero).
  const int kIters = (K + KT_BK - 1) / KT_BK;
  const int kPer = (kIters + KT_SPLIT - 1) / KT_SPLIT;
  const int kBegin = slice * kPer;
  const int steps = (kIters - kBegin < kPer ? kIters - kBegin : kPer);
  if (steps > 0) {
    // A: K-major unless stored K x M (TN, TT); B: K-major when stored N x K.
    kt_chunks<KT_BM> fa;
    kt_chunks<KT_BN> fb;
    kt_fetch<KT_BM, !KT_TRANS_A>(fa, A, lda, m0, M, kBegin * KT_BK, K, tid);
    kt_fetch<KT_BN, KT_TRANS_B>(fb, B, ldb, n0, N, kBegin * KT_BK, K, tid);
    kt_stash<KT_BM, !KT_TRANS_A>(sA[0], fa, tid);
    kt_stash<KT_BN, KT_TRANS_B>(sB[0], fb, tid);
    kt_barrier();
    // Step s on LDS buffer buf: the next step's global loads are issued
    // before this step's MFMAs and stored into the other buffer after them;
    // one barrier per step.
    auto step = [&](int s, int buf) {
      const bool next = s + 1 < steps;
      if (next) {
        const int k0 = (kBegin + s + 1) * KT_BK;
        kt_fetch<KT_BM, !KT_TRANS_A>(fa, A, lda, m0, M, k0, K, tid);
        kt_fetch<KT_BN, KT_TRANS_B>(fb, B, ldb, n0, N, k0, K, tid);
      }
      kt_mma_step(acc, sA[buf], sB[buf], wr, wc, lane);
      if (next) {
        kt_stash<KT_BM, !KT_TRANS_A>(sA[buf ^ 1], fa, tid);
        kt_stash<KT_BN, KT_TRANS_B>(sB[buf ^ 1], fb, tid);
      }
      kt_barrier();
    };
    // KT_UNROLL steps per iteration; with 2 the buffers are fixed (0, then
    // 1) and the LDS offsets compile-time constants.
    for (int s = 0; s < steps; s += KT_UNROLL) {
#if KT_UNROLL == 2
      step(s, 0);
      if (s + 1 < steps) {
        step(s + 1, 1);
      }
#else
      step(s, s & 1);
#endif
    }
  }
#if KT_SPLIT > 1
  // Split-K: the slice's unscaled partial tile goes to its workspace slot
  // ((tile * KT_SPLIT + slice) * KT_BM * KT_BN floats) as 16-byte groups of
  // four results, (wave, group, lane) order: each store instruction writes
  // 1 KiB contiguous. The last slice to count in on the tile's semaphore
  // adds the slots in slice order (the same sum whichever slice is last),
  // applies alpha / beta, stores C and resets the semaphore for the next
  // launch.
  constexpr int kGroups = KT_MB * KT_NB * KT_ACC_N / 4; // per lane
  constexpr long long kSlot = KT_BM * KT_BN / 4;        // f32x4 per slot
  f32x4 *first =
      reinterpret_cast<f32x4 *>(workspace) + tile * KT_SPLIT * kSlot;
#pragma unroll
  for (int i = 0; i < KT_MB; ++i) {
#pragma unroll
    for (int j = 0; j < KT_NB; ++j) {
#pragma unroll
      for (int g = 0; g < KT_ACC_N / 4; ++g) {
        const int idx =
            (wave * kGroups + (i * KT_NB + j) * (KT_ACC_N / 4) + g) * 64 +
            lane;
        first[slice * kSlot + idx] =
            f32x4{acc[i][j][4 * g], acc[i][j][4 * g + 1],
                  acc[i][j][4 * g + 2], acc[i][j][4 * g + 3]};
      }
    }
  }
  // Release: this lane's partials reach the device before the tile's count
  // does.
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "agent");
  kt_barrier();
  // The LDS tiles are no longer read: the ticket borrows sB.
  u32 *ticket = reinterpret_cast<u32 *>(sB[0]);
  if (tid == 0) {
    *ticket = __scoped_atomic_fetch_add(&semaphores[tile], 1u, __ATOMIC_ACQ_REL,
                                        __MEMORY_SCOPE_DEVICE);
  }
  kt_barrier();
  if (*ticket != KT_SPLIT - 1) {
    return; // A later slice finishes the tile.
  }
  // Acquire: the other slices' partials are visible to this lane.
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "agent");
#pragma unroll
  for (int i = 0; i < KT_MB; ++i) {
#pragma unroll
    for (int j = 0; j < KT_NB; ++j) {
      const int col = n0 + wc * KT_WN + j * KT_MI + lane % KT_MI;
#pragma unroll
      for (int g = 0; g < KT_ACC_N / 4; ++g) {
        const int idx =
            (wave * kGroups + (i * KT_NB + j) * (KT_ACC_N / 4) + g) * 64 +
            lane;
        f32x4 total = first[idx];
        for (int s = 1; s < KT_SPLIT; ++s) {
          total += first[s * kSlot + idx];
        }
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row =
              m0 + wr * KT_WM + i * KT_MI + kt_acc_row(lane, 4 * g + e);
          kt_store(C, row, col, M, N, ldc, alpha, beta, total[e]);
        }
      }
    }
  }
  if (tid == 0) { // Ready for the next launch.
    __scoped_atomic_store_n(&semaphores[tile], 0u, __ATOMIC_RELAXED,
                            __MEMORY_SCOPE_DEVICE);
  }
#else
#pragma unroll
  for (int i = 0; i < KT_MB; ++i) {
#pragma unroll
    for (int j = 0; j < KT_NB; ++j) {
      const int col = n0 + wc * KT_WN + j * KT_MI + lane % KT_MI;
#pragma unroll
      for (int r = 0; r < KT_ACC_N; ++r) {
        const int row = m0 + wr * KT_WM + i * KT_MI + kt_acc_row(lane, r);
        kt_store(C, row, col, M, N, ldc, alpha, beta, acc[i][j][r]);
      }
    }
  }
#endif
}
)HIP";

} // namespace

const char *hipPreamble() {
  return R"HIP(
// HIP's qualifiers and barrier, spelled with clang's attributes and
// builtins (no ROCm headers).
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ inline __attribute__((always_inline))
static __device__ __forceinline__ void kt_barrier() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup");
  __builtin_amdgcn_s_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup");
}

typedef unsigned short u16;
typedef unsigned int u32;
typedef __attribute__((ext_vector_type(4))) float f32x4;
typedef __attribute__((ext_vector_type(8))) unsigned short u16x8;
#if KT_MFMA_K == 32
// gfx950: v_mfma_f32_16x16x32_{bf16,f16}, 8 K values per lane.
#if KT_BF16
typedef __attribute__((ext_vector_type(8))) __bf16 kt_frag;
#define KT_MFMA __builtin_amdgcn_mfma_f32_16x16x32_bf16
#else
typedef __attribute__((ext_vector_type(8))) _Float16 kt_frag;
#define KT_MFMA __builtin_amdgcn_mfma_f32_16x16x32_f16
#endif
#else
// gfx942: v_mfma_f32_16x16x16_{bf16,f16}, 4 K values per lane.
#if KT_BF16
typedef __attribute__((ext_vector_type(4))) short kt_frag;
#define KT_MFMA __builtin_amdgcn_mfma_f32_16x16x16bf16_1k
#else
typedef __attribute__((ext_vector_type(4))) _Float16 kt_frag;
#define KT_MFMA __builtin_amdgcn_mfma_f32_16x16x16f16
#endif
#endif
)HIP";
}

const char *hipConversions() {
  return R"HIP(static __device__ __forceinline__ float kt_to_f32(u16 h) {
#if KT_BF16
  return __builtin_bit_cast(float, static_cast<u32>(h) << 16);
#else
  return static_cast<float>(__builtin_bit_cast(_Float16, h));
#endif
}
static __device__ __forceinline__ u16 kt_from_f32(float f) {
#if KT_BF16
  u32 u = __builtin_bit_cast(u32, f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
    return 0x7FC0; // NaN stays NaN
  }
  u += 0x7FFFu + ((u >> 16) & 1u); // round to nearest even
  return static_cast<u16>(u >> 16);
#else
  return __builtin_bit_cast(u16, static_cast<_Float16>(f));
#endif
}

)HIP";
}

std::string kernelSource(const Params &q, const GemmProblem &p,
                         const std::string &arch) {
  return fmt::format(
             "// ktune hip.gemm.mfma: {} on {} bm={} bn={} wm={} wn={} bk={} "
             "pad={} mi={} splitk={} unroll={}\n"
             "#define KT_BM {}\n#define KT_BN {}\n#define KT_WM {}\n"
             "#define KT_WN {}\n#define KT_BK {}\n#define KT_PAD {}\n"
             "#define KT_MI {}\n#define KT_SPLIT {}\n#define KT_UNROLL {}\n"
             "#define KT_MFMA_K {}\n#define KT_TRANS_A {}\n"
             "#define KT_TRANS_B {}\n#define KT_BF16 {}\n",
             p.key(), arch, q.bm, q.bn, q.wm, q.wn, q.bk, q.pad, q.mi, q.splitk,
             q.unroll, q.bm, q.bn, q.wm, q.wn, q.bk, q.pad, q.mi, q.splitk,
             q.unroll, mfmaK(arch), p.transA ? 1 : 0, p.transB ? 1 : 0,
             p.dtype == DType::BF16 ? 1 : 0) +
         hipPreamble() + kDefines + hipConversions() + kBodyHead +
         (p.outF32 ? kStoreF32 : kStore16) + kKernelOpen +
         (p.outF32 ? "float" : "u16") + kBodyTail;
}

} // namespace kt::mfma
