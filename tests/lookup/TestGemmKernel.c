// A hand-written GEMM code object following the CPU GEMM ABI (CpuGemmAbi.h)
// for one fixed problem: f32, NN, M=33 N=20 K=17, packed, 16x8 blocks.
#include <stdint.h>

enum { kM = 33, kN = 20, kK = 17, kBlockM = 16, kBlockN = 8 };

int64_t kt_grid_m(void) { return (kM + kBlockM - 1) / kBlockM; }

int64_t kt_grid_n(void) { return (kN + kBlockN - 1) / kBlockN; }

void kt_gemm(const float *a, const float *b, float *c, float alpha, float beta,
             int64_t bi, int64_t bj) {
  int64_t i0 = bi * kBlockM;
  int64_t j0 = bj * kBlockN;
  int64_t i1 = i0 + kBlockM < kM ? i0 + kBlockM : kM;
  int64_t j1 = j0 + kBlockN < kN ? j0 + kBlockN : kN;
  for (int64_t i = i0; i < i1; ++i) {
    for (int64_t j = j0; j < j1; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < kK; ++p) {
        acc += a[i * kK + p] * b[p * kN + j];
      }
      float *out = &c[i * kN + j];
      *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
    }
  }
}
