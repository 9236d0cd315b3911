// The CUDA C++ text of the sm_90a GEMM family: the configuration as
// #defines, the shared device helpers (CudaGemmCommon.cpp), the wgmma
// wrapper for this tile width and element type, then the fixed kernel body.
#include "CudaGemmSm90Kernel.h"

#include "CudaGemmCommon.h"

#include <fmt/format.h>

namespace kt::sm90 {
namespace {

// The fixed part. Everything shape- or type-specific comes from the KT_*
// constants and kt_wgmma() placed before it.
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

constexpr int KT_MI = KT_BM / (64 * KT_CONS); // m64 blocks per consumer

extern "C" __global__ void __launch_bounds__(128 * (KT_CONS + 1), 1)
kt_gemm(const __grid_constant__ KtTensorMap tmA,
        const __grid_constant__ KtTensorMap tmB, u16 *__restrict__ C, int M,
        int N, int K, int ldc, float alpha, float beta) {
  extern __shared__ __align__(1024) unsigned char kt_smem_raw[];
  // 128-byte swizzle atoms must start on 1024-byte boundaries.
  unsigned char *smem =
      kt_smem_raw + ((1024 - (kt_smem(kt_smem_raw) & 1023)) & 1023);
  u16 *sA = reinterpret_cast<u16 *>(smem);
  u16 *sB = sA + KT_STAGES * KT_A_STAGE;
  u64 *full = reinterpret_cast<u64 *>(sB + KT_STAGES * KT_B_STAGE);
  u64 *empty = full + KT_STAGES;

  const int wg = threadIdx.x / 128;
  const int tilesM = (M + KT_BM - 1) / KT_BM;
  const int tilesN = (N + KT_BN - 1) / KT_BN;
  const int tiles = tilesM * tilesN;
  const int kIters = (K + KT_BK - 1) / KT_BK;

  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&full[s], 1);
      kt_bar_init(&empty[s], 128 * KT_CONS);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  if (wg == 0) {
    // Producer warpgroup: gives its registers to the consumers.
#if KT_CONS == 2
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
#endif
    if (threadIdx.x != 0) {
      return;
    }
    int it = 0;
    for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      int tm, tn;
      kt_tile(tile, tilesM, tilesN, tm, tn);
      for (int kt = 0; kt < kIters; ++kt, ++it) {
        const int s = it % KT_STAGES;
        kt_bar_wait(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
        kt_bar_expect_tx(&full[s], KT_STAGE_BYTES);
        kt_load_stage(sA + s * KT_A_STAGE, sB + s * KT_B_STAGE, &tmA, &tmB,
                      &full[s], tm, tn, kt);
      }
    }
    return;
  }

  // Consumer warpgroups.
#if KT_CONS == 2
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
#endif
  const int cons = wg - 1;
  const int t = threadIdx.x % 128;
  const int warp = t / 32, lane = t % 32;
  float acc[KT_MI][KT_BN / 2];
  int it = 0;
  for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int tm, tn;
    kt_tile(tile, tilesM, tilesN, tm, tn);
#pragma unroll
    for (int mi = 0; mi < KT_MI; ++mi) {
#pragma unroll
      for (int i = 0; i < KT_BN / 2; ++i) {
        acc[mi][i] = 0.0f;
      }
    }
    int prev = 0;
    for (int kt = 0; kt < kIters; ++kt, ++it) {
      const int s = it % KT_STAGES;
      kt_bar_wait(&full[s], (it / KT_STAGES) & 1);
      const u32 a = kt_smem(sA + s * KT_A_STAGE);
      const u32 b = kt_smem(sB + s * KT_B_STAGE);
      kt_wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < KT_BK / 16; ++kk) {
        const u64 db = kt_b_desc(b, kk);
#pragma unroll
        for (int mi = 0; mi < KT_MI; ++mi) {
          // This consumer's m64 blocks: 64 rows of A, 8 KiB apart.
          const u32 blk = a + (cons * KT_MI + mi) * 64 * KT_BK * 2;
          kt_wgmma(acc[mi], kt_a_desc(blk, kk), db);
        }
      }
      kt_wgmma_commit();
      if (kt > 0) {
        // The previous stage's wgmmas are done: hand it back.
        kt_wgmma_wait<1>();
        kt_bar_arrive(&empty[prev]);
      }
      prev = s;
    }
    kt_wgmma_wait<0>();
    kt_bar_arrive(&empty[prev]);

    // Epilogue: accumulator element i of this thread is row
    // 16*warp + lane/4 + 8*((i/2)%2), column 8*(i/4) + 2*(lane%4) + i%2 of
    // its m64 block.
#pragma unroll
    for (int mi = 0; mi < KT_MI; ++mi) {
      const int row0 = tm * KT_BM + (cons * KT_MI + mi) * 64 + 16 * warp +
                       lane / 4;
      const int col0 = tn * KT_BN + 2 * (lane % 4);
#pragma unroll
      for (int i = 0; i < KT_BN / 2; i += 2) {
        const int row = row0 + 8 * ((i / 2) % 2);
        const int col = col0 + 8 * (i / 4);
        if (row >= M || col >= N) {
          continue;
        }
        kt_store2(C + static_cast<long long>(row) * ldc + col,
                  alpha * acc[mi][i], alpha * acc[mi][i + 1], N - col, beta);
      }
    }
  }
}
)CUDA";

/// kt_wgmma(): one m64 x bn x k16 wgmma from two shared-memory descriptors,
/// accumulating into bn / 2 f32 registers per thread.
std::string wgmmaWrapper(const Params &q, const GemmProblem &p) {
  const int64_t regs = q.bn / 2;
  const char *ty = p.dtype == DType::BF16 ? "bf16" : "f16";
  std::string list;
  for (int64_t i = 0; i < regs; ++i) {
    list += fmt::format("{}%{}", i ? ", " : "", i);
  }
  std::string outs;
  for (int64_t i = 0; i < regs; ++i) {
    outs += fmt::format("{}\"+f\"(d[{}])", i ? ", " : "", i);
  }
  // Transpose bits: 0 = K-major, 1 = M-major (A) / N-major (B).
  return fmt::format(
      "static __device__ __forceinline__ void kt_wgmma(float (&d)[{0}], u64 "
      "da, u64 db) {{\n"
      "  asm volatile(\"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{1}, 0;\\n"
      " wgmma.mma_async.sync.aligned.m64n{2}k16.f32.{3}.{3} {{{4}}}, %{5}, "
      "%{6}, p, 1, 1, {7}, {8};\\n}}\"\n"
      "      : {9}\n"
      "      : \"r\"(1), \"l\"(da), \"l\"(db));\n"
      "}}\n",
      regs, regs, q.bn, ty, list, regs + 1, regs + 2, p.transA ? 1 : 0,
      p.transB ? 0 : 1, outs);
}

} // namespace

std::string kernelSource(const Params &q, const GemmProblem &p) {
  std::string o = fmt::format(
      "// ktune cuda.gemm.sm90: {} bm={} bn={} stages={} cons={} group={}\n"
      "#define KT_BM {}\n#define KT_BN {}\n#define KT_STAGES {}\n"
      "#define KT_CONS {}\n#define KT_GROUP {}\n#define KT_TRANS_A {}\n"
      "#define KT_TRANS_B {}\n#define KT_BF16 {}\n#define KT_SM100 0\n",
      p.key(), q.bm, q.bn, q.stages, q.cons, q.group, q.bm, q.bn, q.stages,
      q.cons, q.group, p.transA ? 1 : 0, p.transB ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0);
  return o + cudagemm::deviceSource() + wgmmaWrapper(q, p) + kBody;
}

} // namespace kt::sm90
