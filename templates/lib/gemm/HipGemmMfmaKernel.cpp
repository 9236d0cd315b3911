// The HIP C++ text of hip.gemm.mfma: the configuration as #defines, then a
// fixed body that needs no ROCm headers (clang builtins only), so the same
// text compiles with hiprtc or with clang's device-only HIP mode.
#include "HipGemmMfmaKernel.h"

#include <fmt/format.h>

namespace kt::mfma {
namespace {

constexpr const char *kDefines =
    R"HIP(#define KT_KV (KT_MFMA_K / 4) // K values per lane per MFMA
#define KT_LD (KT_BK + KT_PAD) // LDS row pitch (elements)
#define KT_THREADS ((KT_BM / KT_WM) * (KT_BN / KT_WN) * 64)

)HIP";

constexpr const char *kBody =
    R"HIP(// Copies a rows x KT_BK tile of an operand into LDS as [rows][KT_LD], K
// contiguous whatever the layout, zeros outside the problem. kMajor: the
// operand is stored with K contiguous (row r at src + r * ld); else K-outer
// (K row k at src + k * ld). rowEnd / K bound the problem.
template <int ROWS, bool K_MAJOR>
static __device__ __forceinline__ void
kt_load_tile(u16 *lds, const u16 *__restrict__ src, long long ld, int row0,
             int rowEnd, int k0, int K, int tid) {
  if (K_MAJOR) {
    constexpr int kChunks = KT_BK / 8;
    for (int c = tid; c < ROWS * kChunks; c += KT_THREADS) {
      const int r = c / kChunks, kc = (c % kChunks) * 8;
      const int gr = row0 + r, gk = k0 + kc;
      u16x8 v;
      if (gr < rowEnd && gk + 8 <= K) {
        v = *reinterpret_cast<const u16x8 *>(src + gr * ld + gk);
      } else {
        for (int j = 0; j < 8; ++j) {
          v[j] = (gr < rowEnd && gk + j < K) ? src[gr * ld + gk + j] : u16(0);
        }
      }
      *reinterpret_cast<u16x8 *>(lds + r * KT_LD + kc) = v;
    }
  } else {
    constexpr int rChunks = ROWS / 8;
    for (int c = tid; c < KT_BK * rChunks; c += KT_THREADS) {
      const int kr = c / rChunks, rc = (c % rChunks) * 8;
      const int gr = row0 + rc, gk = k0 + kr;
      u16x8 v;
      if (gk < K && gr + 8 <= rowEnd) {
        v = *reinterpret_cast<const u16x8 *>(src + gk * ld + gr);
      } else {
        for (int j = 0; j < 8; ++j) {
          v[j] = (gk < K && gr + j < rowEnd) ? src[gk * ld + gr + j] : u16(0);
        }
      }
      for (int j = 0; j < 8; ++j) {
        lds[(rc + j) * KT_LD + kr] = v[j];
      }
    }
  }
}

extern "C" __attribute__((global))
__attribute__((amdgpu_flat_work_group_size(KT_THREADS, KT_THREADS))) void
kt_gemm(const u16 *__restrict__ A, const u16 *__restrict__ B,
        u16 *__restrict__ C, int M, int N, int K, int lda, int ldb, int ldc,
        float alpha, float beta) {
  // Two buffers: one is filled while the other feeds the MFMAs.
  __shared__ __attribute__((aligned(16))) u16 sA[2][KT_BM * KT_LD];
  __shared__ __attribute__((aligned(16))) u16 sB[2][KT_BN * KT_LD];
  const int tid = __builtin_amdgcn_workitem_id_x();
  const int wave = tid / 64, lane = tid % 64;
  const int tilesN = (N + KT_BN - 1) / KT_BN;
  const int bid = __builtin_amdgcn_workgroup_id_x();
  const int m0 = (bid / tilesN) * KT_BM, n0 = (bid % tilesN) * KT_BN;
  const int wr = wave / (KT_BN / KT_WN), wc = wave % (KT_BN / KT_WN);
  constexpr int MI = KT_WM / 16, NI = KT_WN / 16;
  f32x4 acc[MI][NI];
  for (int i = 0; i < MI; ++i) {
    for (int j = 0; j < NI; ++j) {
      acc[i][j] = f32x4{0.0f, 0.0f, 0.0f, 0.0f};
    }
  }
  const int kIters = (K + KT_BK - 1) / KT_BK;
  // A: K-major unless stored K x M (TN, TT); B: K-major when stored N x K.
  kt_load_tile<KT_BM, !KT_TRANS_A>(sA[0], A, lda, m0, M, 0, K, tid);
  kt_load_tile<KT_BN, KT_TRANS_B>(sB[0], B, ldb, n0, N, 0, K, tid);
  kt_barrier();
  for (int kt = 0; kt < kIters; ++kt) {
    const int cur = kt & 1;
    if (kt + 1 < kIters) {
      kt_load_tile<KT_BM, !KT_TRANS_A>(sA[cur ^ 1], A, lda, m0, M,
                                       (kt + 1) * KT_BK, K, tid);
      kt_load_tile<KT_BN, KT_TRANS_B>(sB[cur ^ 1], B, ldb, n0, N,
                                      (kt + 1) * KT_BK, K, tid);
    }
#pragma unroll
    for (int kk = 0; kk < KT_BK / KT_MFMA_K; ++kk) {
      // Lane l holds row (A) / column (B) l % 16, K values
      // kk * KT_MFMA_K + (l / 16) * KT_KV + [0, KT_KV).
      const int kOff = kk * KT_MFMA_K + (lane / 16) * KT_KV;
      kt_frag a[MI], b[NI];
#pragma unroll
      for (int i = 0; i < MI; ++i) {
        a[i] = *reinterpret_cast<const kt_frag *>(
            &sA[cur][(wr * KT_WM + i * 16 + lane % 16) * KT_LD + kOff]);
      }
#pragma unroll
      for (int j = 0; j < NI; ++j) {
        b[j] = *reinterpret_cast<const kt_frag *>(
            &sB[cur][(wc * KT_WN + j * 16 + lane % 16) * KT_LD + kOff]);
      }
#pragma unroll
      for (int i = 0; i < MI; ++i) {
#pragma unroll
        for (int j = 0; j < NI; ++j) {
          acc[i][j] = KT_MFMA(a[i], b[j], acc[i][j], 0, 0, 0);
        }
      }
    }
    kt_barrier();
  }
  // Lane l holds rows (l / 16) * 4 + [0, 4) of column l % 16 of each block.
#pragma unroll
  for (int i = 0; i < MI; ++i) {
#pragma unroll
    for (int j = 0; j < NI; ++j) {
      const int col = n0 + wc * KT_WN + j * 16 + lane % 16;
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int row = m0 + wr * KT_WM + i * 16 + (lane / 16) * 4 + r;
        if (row < M && col < N) {
          u16 *c = C + static_cast<long long>(row) * ldc + col;
          float v = alpha * acc[i][j][r];
          if (beta != 0.0f) {
            v += beta * kt_to_f32(*c);
          }
          *c = kt_from_f32(v);
        }
      }
    }
  }
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
             "pad={}\n"
             "#define KT_BM {}\n#define KT_BN {}\n#define KT_WM {}\n"
             "#define KT_WN {}\n#define KT_BK {}\n#define KT_PAD {}\n"
             "#define KT_MFMA_K {}\n#define KT_TRANS_A {}\n"
             "#define KT_TRANS_B {}\n#define KT_BF16 {}\n",
             p.key(), arch, q.bm, q.bn, q.wm, q.wn, q.bk, q.pad, q.bm, q.bn,
             q.wm, q.wn, q.bk, q.pad, mfmaK(arch), p.transA ? 1 : 0,
             p.transB ? 1 : 0, p.dtype == DType::BF16 ? 1 : 0) +
         hipPreamble() + kDefines + hipConversions() + kBody;
}

} // namespace kt::mfma
