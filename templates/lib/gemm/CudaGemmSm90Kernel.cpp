// The CUDA C++ text of the sm_90a GEMM family: a generated prelude (the
// configuration as constants, the wgmma wrapper for this tile width and
// element type) followed by the fixed kernel body.
#include "CudaGemmSm90Kernel.h"

#include <fmt/format.h>

namespace kt::sm90 {
namespace {

// The fixed part. Everything shape- or type-specific comes from the KT_*
// constants and kt_wgmma() defined in the prelude.
constexpr const char *kBody = R"CUDA(
typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;

// CUtensorMap as cuda.h defines it (NVRTC compiles without CUDA headers).
struct __align__(64) KtTensorMap { u64 opaque[16]; };

static __device__ __forceinline__ u32 kt_smem(const void *p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

// ---- mbarrier ----
static __device__ __forceinline__ void kt_bar_init(u64 *bar, u32 count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(kt_smem(bar)),
               "r"(count));
}
static __device__ __forceinline__ void kt_bar_expect_tx(u64 *bar, u32 bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(
                   kt_smem(bar)),
               "r"(bytes)
               : "memory");
}
static __device__ __forceinline__ void kt_bar_arrive(u64 *bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(kt_smem(bar))
               : "memory");
}
static __device__ __forceinline__ void kt_bar_wait(u64 *bar, u32 parity) {
  u32 done = 0;
  do {
    asm volatile("{\n .reg .pred p;\n"
                 " mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 " selp.u32 %0, 1, 0, p;\n}"
                 : "=r"(done)
                 : "r"(kt_smem(bar)), "r"(parity)
                 : "memory");
  } while (!done);
}

// ---- TMA: one 2-D box, completion counted on `bar` ----
static __device__ __forceinline__ void kt_tma_load(void *dst,
                                                   const KtTensorMap *map,
                                                   u64 *bar, int x, int y) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::"
      "complete_tx::bytes [%0], [%1, {%3, %4}], [%2];" ::"r"(kt_smem(dst)),
      "l"(reinterpret_cast<u64>(map)), "r"(kt_smem(bar)), "r"(x), "r"(y)
      : "memory");
}

// ---- wgmma ----
// Shared-memory matrix descriptor, 128-byte swizzle (start, leading and
// stride byte offsets in 16-byte units).
static __device__ __forceinline__ u64 kt_desc(u32 addr, u32 lbo, u32 sbo) {
  return static_cast<u64>((addr & 0x3FFFF) >> 4) |
         (static_cast<u64>(lbo >> 4) << 16) |
         (static_cast<u64>(sbo >> 4) << 32) | (1ull << 62);
}
static __device__ __forceinline__ void kt_wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
}
static __device__ __forceinline__ void kt_wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
}
template <int N> static __device__ __forceinline__ void kt_wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(N) : "memory");
}

// ---- element conversion (bits of bf16 / fp16) ----
static __device__ __forceinline__ float kt_to_f32(u16 h) {
#if KT_BF16
  return __uint_as_float(static_cast<u32>(h) << 16);
#else
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
#endif
}
static __device__ __forceinline__ u16 kt_from_f32(float f) {
  u16 h;
#if KT_BF16
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
#else
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
#endif
  return h;
}
// lo in the low half (the lower address), hi in the high half.
static __device__ __forceinline__ u32 kt_pack(float lo, float hi) {
  u32 r;
#if KT_BF16
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}

// Output tile (tm, tn) of the persistent walk, in bands of KT_GROUP rows.
static __device__ __forceinline__ void kt_tile(int tile, int tilesM,
                                               int tilesN, int &tm, int &tn) {
  const int band = KT_GROUP * tilesN;
  const int first = (tile / band) * KT_GROUP;
  const int rows = min(tilesM - first, KT_GROUP);
  const int inBand = tile % band;
  tm = first + inBand % rows;
  tn = inBand / rows;
}

constexpr int KT_BK = 64;                      // K per stage: one 128 B row.
constexpr int KT_A_STAGE = KT_BM * KT_BK;      // elements
constexpr int KT_B_STAGE = KT_BN * KT_BK;      // elements
constexpr u32 KT_STAGE_BYTES = (KT_A_STAGE + KT_B_STAGE) * 2;
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
        u16 *a = sA + s * KT_A_STAGE;
        u16 *b = sB + s * KT_B_STAGE;
#if KT_TRANS_A
        // A stored K x M: boxes of 64 (M) x 64 (K), one per 64 rows.
#pragma unroll
        for (int c = 0; c < KT_BM / 64; ++c) {
          kt_tma_load(a + c * 64 * KT_BK, &tmA, &full[s], tm * KT_BM + c * 64,
                      kt * KT_BK);
        }
#else
        kt_tma_load(a, &tmA, &full[s], kt * KT_BK, tm * KT_BM);
#endif
#if KT_TRANS_B
        kt_tma_load(b, &tmB, &full[s], kt * KT_BK, tn * KT_BN);
#else
        // B stored K x N: boxes of 64 (N) x 64 (K), one per 64 columns.
#pragma unroll
        for (int c = 0; c < KT_BN / 64; ++c) {
          kt_tma_load(b + c * 64 * KT_BK, &tmB, &full[s], tn * KT_BN + c * 64,
                      kt * KT_BK);
        }
#endif
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
#if KT_TRANS_B
        // K-major B: 8-row groups 1024 B apart; k16 steps are 32 B.
        const u64 db = kt_desc(b + kk * 32, 16, 1024);
#else
        // N-major B: 64-column chunks 8 KiB apart; k16 steps are 16 rows.
        const u64 db = kt_desc(b + kk * 2048, 64 * KT_BK * 2, 1024);
#endif
#pragma unroll
        for (int mi = 0; mi < KT_MI; ++mi) {
          const u32 blk = a + (cons * KT_MI + mi) * 64 * KT_BK * 2;
#if KT_TRANS_A
          const u64 da = kt_desc(blk + kk * 2048, 64 * KT_BK * 2, 1024);
#else
          const u64 da = kt_desc(blk + kk * 32, 16, 1024);
#endif
          kt_wgmma(acc[mi], da, db);
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
        u16 *c = C + static_cast<long long>(row) * ldc + col;
        float v0 = alpha * acc[mi][i], v1 = alpha * acc[mi][i + 1];
        if (col + 1 < N) {
          if (beta != 0.0f) {
            const u32 old = *reinterpret_cast<const u32 *>(c);
            v0 += beta * kt_to_f32(static_cast<u16>(old & 0xFFFF));
            v1 += beta * kt_to_f32(static_cast<u16>(old >> 16));
          }
          *reinterpret_cast<u32 *>(c) = kt_pack(v0, v1);
        } else {
          if (beta != 0.0f) {
            v0 += beta * kt_to_f32(*c);
          }
          *c = kt_from_f32(v0);
        }
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
      "#define KT_TRANS_B {}\n#define KT_BF16 {}\n",
      p.key(), q.bm, q.bn, q.stages, q.cons, q.group, q.bm, q.bn, q.stages,
      q.cons, q.group, p.transA ? 1 : 0, p.transB ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0);
  // The body's helpers come first; kt_wgmma needs only u64, so it is
  // declared right after the typedefs.
  std::string body = kBody;
  const std::string anchor = "// ---- wgmma ----\n";
  size_t at = body.find(anchor);
  body.insert(at + anchor.size(), wgmmaWrapper(q, p));
  return o + body;
}

} // namespace kt::sm90
