#include "HipReferenceKernels.h"

namespace kt::hipref {

const char *source() {
  return R"HIP(
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define KT_GLOBAL extern "C" __attribute__((global))
typedef unsigned short u16;
typedef unsigned int u32;

static __device__ inline float kt_cvt(u16 h, int bf16) {
  if (bf16) {
    return __builtin_bit_cast(float, static_cast<u32>(h) << 16);
  }
  return static_cast<float>(__builtin_bit_cast(_Float16, h));
}

static __device__ inline void kt_sync() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup");
  __builtin_amdgcn_s_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup");
}

KT_GLOBAL __attribute__((amdgpu_flat_work_group_size(256, 256))) void
kt_ref(const u16 *A, const u16 *B, float *ref, float *mag, int M, int N, int K,
       int lda, int ldb, int transA, int transB, int bf16) {
  __shared__ float sa[16][17];
  __shared__ float sb[16][17];
  const int tx = __builtin_amdgcn_workitem_id_x();
  const int ty = __builtin_amdgcn_workitem_id_y();
  const int bx = __builtin_amdgcn_workgroup_id_x();
  const int by = __builtin_amdgcn_workgroup_id_y();
  const int i = by * 16 + ty, j = bx * 16 + tx;
  float acc = 0.0f, sum = 0.0f;
  for (int k0 = 0; k0 < K; k0 += 16) {
    const int ak = k0 + tx, bk = k0 + ty;
    const int ar = by * 16 + ty, bc = bx * 16 + tx;
    float av = 0.0f, bv = 0.0f;
    if (ar < M && ak < K) {
      av = kt_cvt(transA ? A[static_cast<long long>(ak) * lda + ar]
                         : A[static_cast<long long>(ar) * lda + ak], bf16);
    }
    if (bk < K && bc < N) {
      bv = kt_cvt(transB ? B[static_cast<long long>(bc) * ldb + bk]
                         : B[static_cast<long long>(bk) * ldb + bc], bf16);
    }
    sa[ty][tx] = av;
    sb[ty][tx] = bv;
    kt_sync();
    for (int kk = 0; kk < 16; ++kk) {
      const float p = sa[ty][kk] * sb[kk][tx];
      acc += p;
      sum += __builtin_fabsf(p);
    }
    kt_sync();
  }
  if (i < M && j < N) {
    ref[static_cast<long long>(i) * N + j] = acc;
    mag[static_cast<long long>(i) * N + j] = sum;
  }
}

// C's element type fmt: 0 fp16, 1 bf16, 2 f32. The relative tolerance is
// 2^-7 |want| for the 16-bit types and 2^-16 |want| for f32 (an f32 output
// rounded through bf16 on the way fails it).
KT_GLOBAL __attribute__((amdgpu_flat_work_group_size(256, 256))) void
kt_check(const void *C, int ldc, const float *ref, const float *mag, int M,
         int N, float alpha, int fmt, float absTol, u32 *verdict) {
  const long long total = static_cast<long long>(M) * N;
  // The dispatch packet's grid size is in work-items.
  const long long stride = __builtin_amdgcn_grid_size_x();
  for (long long e = static_cast<long long>(__builtin_amdgcn_workgroup_id_x()) *
                         256 +
                     __builtin_amdgcn_workitem_id_x();
       e < total; e += stride) {
    const int i = static_cast<int>(e / N), j = static_cast<int>(e % N);
    const float want = alpha * ref[e];
    const long long at = static_cast<long long>(i) * ldc + j;
    const float got = fmt == 2 ? static_cast<const float *>(C)[at]
                               : kt_cvt(static_cast<const u16 *>(C)[at], fmt);
    const float tol = __builtin_ldexpf(__builtin_fabsf(want),
                                       fmt == 2 ? -16 : -7) +
                      (mag ? 1e-4f * __builtin_fabsf(alpha) * mag[e] : 0.0f) +
                      absTol;
    const float err = __builtin_fabsf(got - want);
    float ratio = err / tol;
    if (!(err <= tol)) {
      __atomic_fetch_add(&verdict[0], 1u, __ATOMIC_RELAXED);
      if (ratio != ratio) {
        ratio = 3.0e38f; // NaN output: an element never written.
      }
    }
    // Non-negative floats order like their bit patterns.
    __atomic_fetch_max(&verdict[1], __builtin_bit_cast(u32, ratio),
                       __ATOMIC_RELAXED);
  }
}

// Attention, one workgroup of 128 work-items per query row (b, h, s): keys
// in tiles of 128 (one score per work-item, from f32 dot products), an
// online softmax over the tiles (the tile maximum through LDS), and each
// work-item accumulating output columns t, t + 128 in f32. ref is laid out
// like O; rows without keys give 0.
KT_GLOBAL __attribute__((amdgpu_flat_work_group_size(128, 128))) void
kt_attn_ref(const u16 *Q, const u16 *K, const u16 *V, float *ref, int Hq,
            int Hkv, int Sq, int Skv, int D, int bshd, int causal, float scale,
            int bf16) {
  __shared__ float p[128];
  __shared__ float red[128];
  const int row = __builtin_amdgcn_workgroup_id_x();
  const int t = __builtin_amdgcn_workitem_id_x();
  const int s = row % Sq, h = (row / Sq) % Hq, b = row / (Sq * Hq);
  const int kvh = h / (Hq / Hkv);
  auto qOff = [&](int ss) {
    return bshd ? ((static_cast<long long>(b) * Sq + ss) * Hq + h) * D
                : ((static_cast<long long>(b) * Hq + h) * Sq + ss) * D;
  };
  auto kvOff = [&](int j) {
    return bshd ? ((static_cast<long long>(b) * Skv + j) * Hkv + kvh) * D
                : ((static_cast<long long>(b) * Hkv + kvh) * Skv + j) * D;
  };
  int lim = Skv;
  if (causal) {
    lim = s + Skv - Sq + 1;
    lim = lim < 0 ? 0 : (lim > Skv ? Skv : lim);
  }
  const u16 *q = Q + qOff(s);
  float o[2] = {0.0f, 0.0f}; // columns t and t + 128 (D <= 256)
  float m = -3.0e38f, l = 0.0f;
  for (int j0 = 0; j0 < lim; j0 += 128) {
    const int j = j0 + t;
    float sc = -3.0e38f;
    if (j < lim) {
      const u16 *k = K + kvOff(j);
      float dot = 0.0f;
      for (int e = 0; e < D; ++e) {
        dot += kt_cvt(q[e], bf16) * kt_cvt(k[e], bf16);
      }
      sc = dot * scale;
    }
    red[t] = sc;
    kt_sync();
    float mx = -3.0e38f;
    for (int i = 0; i < 128; ++i) {
      mx = __builtin_fmaxf(mx, red[i]);
    }
    const float next = __builtin_fmaxf(m, mx);
    const float alpha = __builtin_expf(m - next);
    p[t] = j < lim ? __builtin_expf(sc - next) : 0.0f;
    kt_sync();
    float sum = 0.0f;
    const int n = lim - j0 < 128 ? lim - j0 : 128;
    for (int i = 0; i < n; ++i) {
      sum += p[i];
    }
    l = l * alpha + sum;
    for (int c = 0; c < 2; ++c) {
      const int e = t + 128 * c;
      if (e < D) {
        float acc = o[c] * alpha;
        for (int i = 0; i < n; ++i) {
          acc += p[i] * kt_cvt(V[kvOff(j0 + i) + e], bf16);
        }
        o[c] = acc;
      }
    }
    m = next;
    kt_sync();
  }
  for (int c = 0; c < 2; ++c) {
    const int e = t + 128 * c;
    if (e < D) {
      ref[qOff(s) + e] = l > 0.0f ? o[c] / l : 0.0f;
    }
  }
}
)HIP";
}

} // namespace kt::hipref
