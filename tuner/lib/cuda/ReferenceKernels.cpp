#include "ReferenceKernels.h"

namespace kt::cudaref {

const char *source() {
  return R"CUDA(
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

static __device__ __forceinline__ float kt_cvt(u16 h, int bf16) {
  if (bf16) {
    return __uint_as_float(static_cast<u32>(h) << 16);
  }
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}

extern "C" __global__ void kt_ref(const u16 *A, const u16 *B, float *ref,
                                  float *mag, int M, int N, int K, int lda,
                                  int ldb, int transA, int transB, int bf16) {
  __shared__ float sa[16][17];
  __shared__ float sb[16][17];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int i = blockIdx.y * 16 + ty, j = blockIdx.x * 16 + tx;
  float acc = 0.0f, sum = 0.0f;
  for (int k0 = 0; k0 < K; k0 += 16) {
    const int ak = k0 + tx, bk = k0 + ty;
    const int ar = blockIdx.y * 16 + ty, bc = blockIdx.x * 16 + tx;
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
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < 16; ++kk) {
      const float p = sa[ty][kk] * sb[kk][tx];
      acc += p;
      sum += fabsf(p);
    }
    __syncthreads();
  }
  if (i < M && j < N) {
    ref[static_cast<long long>(i) * N + j] = acc;
    mag[static_cast<long long>(i) * N + j] = sum;
  }
}

// C's element type fmt: 0 fp16, 1 bf16, 2 f32. The relative tolerance is
// 2^-7 |want| for the 16-bit types and 2^-16 |want| for f32 (an f32 output
// rounded through bf16 on the way fails it).
extern "C" __global__ void kt_check(const void *C, int ldc, const float *ref,
                                    const float *mag, int M, int N,
                                    float alpha, int fmt, float absTol,
                                    u32 *verdict) {
  const long long total = static_cast<long long>(M) * N;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) +
                     threadIdx.x;
       e < total; e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(e / N), j = static_cast<int>(e % N);
    const float want = alpha * ref[e];
    const long long at = static_cast<long long>(i) * ldc + j;
    const float got = fmt == 2 ? static_cast<const float *>(C)[at]
                               : kt_cvt(static_cast<const u16 *>(C)[at], fmt);
    const float tol = ldexpf(fabsf(want), fmt == 2 ? -16 : -7) +
                      (mag ? 1e-4f * fabsf(alpha) * mag[e] : 0.0f) + absTol;
    const float err = fabsf(got - want);
    float ratio = err / tol;
    if (!(err <= tol)) {
      atomicAdd(&verdict[0], 1u);
      if (ratio != ratio) {
        ratio = 3.0e38f; // NaN output: an element never written.
      }
    }
    // Non-negative floats order like their bit patterns.
    atomicMax(&verdict[1], __float_as_uint(ratio));
  }
}

// Attention, one block of 128 threads per query row (b, h, s): keys in
// tiles of 128 (one score per thread, from f32 dot products), an online
// softmax over the tiles, and each thread accumulating output columns
// t, t + 128, ... in f32. ref is laid out like O.
extern "C" __global__ void __launch_bounds__(128)
kt_attn_ref(const u16 *Q, const u16 *K, const u16 *V, float *ref, int Hq,
            int Hkv, int Sq, int Skv, int D, int bshd, int causal, float scale,
            int bf16) {
  __shared__ float p[128];
  __shared__ float red[4];
  const int row = blockIdx.x, t = threadIdx.x;
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
    lim = max(0, min(Skv, s + Skv - Sq + 1));
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
    // Block max of the tile.
    float mx = sc;
    for (int o2 = 16; o2 > 0; o2 /= 2) {
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o2));
    }
    if (t % 32 == 0) {
      red[t / 32] = mx;
    }
    __syncthreads();
    mx = fmaxf(fmaxf(red[0], red[1]), fmaxf(red[2], red[3]));
    const float next = fmaxf(m, mx);
    const float alpha = expf(m - next);
    p[t] = j < lim ? expf(sc - next) : 0.0f;
    __syncthreads();
    float sum = 0.0f;
    const int n = min(128, lim - j0);
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
    __syncthreads();
  }
  for (int c = 0; c < 2; ++c) {
    const int e = t + 128 * c;
    if (e < D) {
      ref[qOff(s) + e] = l > 0.0f ? o[c] / l : 0.0f;
    }
  }
}
)CUDA";
}

} // namespace kt::cudaref
