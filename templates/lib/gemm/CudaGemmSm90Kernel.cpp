// The CUDA C++ text of the sm_90a GEMM family: the configuration as
// #defines, the shared device helpers (CudaGemmCommon.cpp), the wgmma
// wrapper for this tile width and element type, the cluster helpers for
// cluster = 2, then the kernel body.
#include "CudaGemmSm90Kernel.h"

#include "CudaGemmCommon.h"

#include <fmt/format.h>

namespace kt::sm90 {
namespace {

// Clusters of two CTAs on vertically adjacent tiles (2 pm, tn) and
// (2 pm + 1, tn), which need the same B tile. Each CTA's producer loads its
// own A and one half of B, multicast by TMA into the same offsets of both
// CTAs' stage buffers and counted on both CTAs' full barriers, so each full
// barrier expects a whole stage (A + both halves of B). A stage may be
// overwritten only once the consumers of both CTAs are done with it: every
// consumer warp arrives on the empty barrier of both CTAs. These are the
// release helpers; the rest (rank, cluster barrier, the pair's stage load)
// is shared with cuda.gemm.sm100 (CudaGemmCommon.cpp).
constexpr const char *kClusterRelease =
    R"CUDA(// Arrive on the barrier at `bar`'s offset in cluster CTA `rank` (this CTA
// included), releasing at cluster scope.
static __device__ __forceinline__ void kt_bar_arrive_cta(u64 *bar, int rank) {
  asm volatile("{\n .reg .b32 remote;\n"
               " mapa.shared::cluster.u32 remote, %0, %1;\n"
               " mbarrier.arrive.release.cluster.shared::cluster.b64 _, "
               "[remote];\n}" ::"r"(kt_smem(bar)),
               "r"(rank)
               : "memory");
}
// A consumer warp is done with a stage (every lane has waited for its
// wgmmas): lane 0 tells this CTA's producer, lane 1 the other CTA's.
static __device__ __forceinline__ void kt_release_pair(u64 *bar, int lane,
                                                       int rank) {
  if (lane == 0) {
    kt_bar_arrive(bar);
  } else if (lane == 1) {
    kt_bar_arrive_cta(bar, rank ^ 1);
  }
}
)CUDA";

// The kernel. Everything shape- or type-specific comes from the KT_*
// constants and kt_wgmma() placed before it. The `#if KT_CLUSTER > 1` and
// `#if KT_OUT_F32` blocks are resolved here, not by NVRTC
// (cudagemm::resolveIf), so a cluster = 1 instance is the text it was before
// clusters existed, and one with a 16-bit C the text before f32 output.
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

// Split-K (KT_SPLIT > 1): a work unit is one K slice of one tile. Each
// consumer warpgroup writes its f32 partial sums to the workspace `ws`,
// counts itself in on the tile's semaphore, and the last slice to arrive
// adds the slices in order (a deterministic sum), stores the tile and
// resets the semaphore for the next launch.
extern "C" __global__ void __launch_bounds__(128 * (KT_CONS + 1), 1)
kt_gemm(const __grid_constant__ KtTensorMap tmA,
#if KT_OUT_F32
        const __grid_constant__ KtTensorMap tmB, float *__restrict__ C, int M,
#else
        const __grid_constant__ KtTensorMap tmB, u16 *__restrict__ C, int M,
#endif
        int N, int K, int ldc, float alpha, float beta, float *__restrict__ ws,
        u32 *__restrict__ sems) {
  extern __shared__ __align__(1024) unsigned char kt_smem_raw[];
  // 128-byte swizzle atoms must start on 1024-byte boundaries.
  unsigned char *smem =
      kt_smem_raw + ((1024 - (kt_smem(kt_smem_raw) & 1023)) & 1023);
  u16 *sA = reinterpret_cast<u16 *>(smem);
  u16 *sB = sA + KT_STAGES * KT_A_STAGE;
  u64 *full = reinterpret_cast<u64 *>(sB + KT_STAGES * KT_B_STAGE);
  u64 *empty = full + KT_STAGES;
#if KT_SPLIT > 1
  u32 *arrived = reinterpret_cast<u32 *>(empty + KT_STAGES); // per consumer
#endif

  const int wg = threadIdx.x / 128;
  const int tilesM = (M + KT_BM - 1) / KT_BM;
  const int tilesN = (N + KT_BN - 1) / KT_BN;
#if KT_CLUSTER > 1
  // The cluster's two CTAs walk the same units: one K slice of a pair of
  // tiles (2 pm, tn) and (2 pm + 1, tn); this CTA takes row 2 pm + rank.
  if (kt_cluster_size() != 2) {
    __trap(); // Launched without its cluster shape: fail, do not hang.
  }
  const int rank = kt_cluster_rank();
  const int pairsM = (tilesM + 1) / 2;
  const int units = pairsM * tilesN * KT_SPLIT;
#else
  const int units = tilesM * tilesN * KT_SPLIT;
#endif
  const int kIters = (K + KT_BK - 1) / KT_BK;
  const int kPer = (kIters + KT_SPLIT - 1) / KT_SPLIT; // K blocks per slice

  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&full[s], 1);
#if KT_CLUSTER > 1
      // Released by every consumer warp of both CTAs (kt_release_pair).
      kt_bar_init(&empty[s], 2 * 4 * KT_CONS);
#else
      kt_bar_init(&empty[s], 128 * KT_CONS);
#endif
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
#if KT_CLUSTER > 1
  // Both CTAs' barriers are initialised before either multicasts into the
  // other or arrives on its barriers.
  kt_cluster_sync();
#else
  __syncthreads();
#endif

  if (wg == 0) {
    // Producer warpgroup: gives its registers to the consumers.
#if KT_CONS == 2
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
#endif
    if (threadIdx.x != 0) {
      return;
    }
    int it = 0;
#if KT_CLUSTER > 1
    for (int unit = kt_cluster_id(); unit < units;
         unit += kt_cluster_count()) {
      const int pair = unit / KT_SPLIT, slice = unit % KT_SPLIT;
      int tm, tn;
      kt_tile(pair, pairsM, tilesN, tm, tn);
      tm = 2 * tm + rank;
      // A tile below M (odd tilesM) loads no A, but still its half of B:
      // the other CTA of the pair needs it.
      const bool own = tm < tilesM;
      const int kEnd = min(kIters, (slice + 1) * kPer);
      for (int kt = slice * kPer; kt < kEnd; ++kt, ++it) {
        const int s = it % KT_STAGES;
        // Free once the consumers of both CTAs have released it.
        kt_bar_wait_cluster(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
        kt_bar_expect_tx(&full[s],
                         own ? KT_STAGE_BYTES : u32(KT_B_STAGE * 2));
        kt_load_stage_pair(sA + s * KT_A_STAGE, sB + s * KT_B_STAGE, &tmA,
                           &tmB, &full[s], tm, tn, kt, rank, own);
      }
    }
    // Wait until both CTAs' consumers have released every stage, so no
    // arrival on this CTA's barriers is still on its way when it exits.
    for (int i = 0; i < KT_STAGES; ++i, ++it) {
      kt_bar_wait_cluster(&empty[it % KT_STAGES],
                          ((it / KT_STAGES) & 1) ^ 1);
    }
    kt_cluster_sync();
#else
    for (int unit = blockIdx.x; unit < units; unit += gridDim.x) {
      const int tile = unit / KT_SPLIT, slice = unit % KT_SPLIT;
      int tm, tn;
      kt_tile(tile, tilesM, tilesN, tm, tn);
      const int kEnd = min(kIters, (slice + 1) * kPer);
      for (int kt = slice * kPer; kt < kEnd; ++kt, ++it) {
        const int s = it % KT_STAGES;
        kt_bar_wait(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
        kt_bar_expect_tx(&full[s], KT_STAGE_BYTES);
        kt_load_stage(sA + s * KT_A_STAGE, sB + s * KT_B_STAGE, &tmA, &tmB,
                      &full[s], tm, tn, kt);
      }
    }
#endif
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
#if KT_CLUSTER > 1
  for (int unit = kt_cluster_id(); unit < units; unit += kt_cluster_count()) {
    const int pair = unit / KT_SPLIT, slice = unit % KT_SPLIT;
    int tm, tn;
    kt_tile(pair, pairsM, tilesN, tm, tn);
    tm = 2 * tm + rank;
    const int kBegin = slice * kPer, kEnd = min(kIters, kBegin + kPer);
    if (tm >= tilesM) {
      // Below M: nothing to compute or store, but the stages (B halves
      // from both producers) arrive as for the other CTA and are released
      // to both.
      for (int kt = kBegin; kt < kEnd; ++kt, ++it) {
        const int s = it % KT_STAGES;
        kt_bar_wait(&full[s], (it / KT_STAGES) & 1);
        kt_release_pair(&empty[s], lane, rank);
      }
      continue;
    }
#else
  for (int unit = blockIdx.x; unit < units; unit += gridDim.x) {
    const int tile = unit / KT_SPLIT, slice = unit % KT_SPLIT;
    int tm, tn;
    kt_tile(tile, tilesM, tilesN, tm, tn);
    const int kBegin = slice * kPer, kEnd = min(kIters, kBegin + kPer);
#endif
#pragma unroll
    for (int mi = 0; mi < KT_MI; ++mi) {
#pragma unroll
      for (int i = 0; i < KT_BN / 2; ++i) {
        acc[mi][i] = 0.0f;
      }
    }
    int prev = -1;
    for (int kt = kBegin; kt < kEnd; ++kt, ++it) {
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
      if (prev >= 0) {
        // The previous stage's wgmmas are done: hand it back.
        kt_wgmma_wait<1>();
#if KT_CLUSTER > 1
        kt_release_pair(&empty[prev], lane, rank);
#else
        kt_bar_arrive(&empty[prev]);
#endif
      }
      prev = s;
    }
    // Unconditional, so ptxas sees every path to the epilogue wait for the
    // accumulators (it injects a wait otherwise).
    kt_wgmma_wait<0>();
    if (prev >= 0) {
#if KT_CLUSTER > 1
      kt_release_pair(&empty[prev], lane, rank);
#else
      kt_bar_arrive(&empty[prev]);
#endif
    }

#if KT_SPLIT > 1
    {
#if KT_CLUSTER > 1
      const int tile = tm * tilesN + tn; // Its workspace slots, semaphore.
#endif
      // This thread's partials, 128 threads apart: coalesced in and out.
      const long long slot = static_cast<long long>(KT_BM) * KT_BN;
      float *mine = ws + (static_cast<long long>(tile) * KT_SPLIT + slice) *
                             slot;
#pragma unroll
      for (int mi = 0; mi < KT_MI; ++mi) {
#pragma unroll
        for (int i = 0; i < KT_BN / 2; ++i) {
          mine[((cons * KT_MI + mi) * (KT_BN / 2) + i) * 128 + t] = acc[mi][i];
        }
      }
      __threadfence();
      asm volatile("bar.sync %0, 128;" ::"r"(1 + cons) : "memory");
      if (t == 0) {
        arrived[cons] = atomicAdd(&sems[tile * KT_CONS + cons], 1u);
      }
      asm volatile("bar.sync %0, 128;" ::"r"(1 + cons) : "memory");
      if (arrived[cons] != KT_SPLIT - 1) {
        continue; // A later slice finishes this tile.
      }
      __threadfence();
      const float *first = ws + static_cast<long long>(tile) * KT_SPLIT * slot;
#pragma unroll
      for (int mi = 0; mi < KT_MI; ++mi) {
#pragma unroll
        for (int i = 0; i < KT_BN / 2; ++i) {
          const int at = ((cons * KT_MI + mi) * (KT_BN / 2) + i) * 128 + t;
          float total = 0.0f;
          for (int sl = 0; sl < KT_SPLIT; ++sl) {
            total += sl == slice ? acc[mi][i] : __ldcg(first + sl * slot + at);
          }
          acc[mi][i] = total;
        }
      }
      if (t == 0) {
        sems[tile * KT_CONS + cons] = 0; // Ready for the next launch.
      }
    }
#endif

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
#if KT_CLUSTER > 1
  // The other CTA may still arrive on this one's barriers until it is here.
  kt_cluster_sync();
#endif
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
  const bool cluster = q.cluster > 1;
  // An f32 C (p.outF32): the C pointer and kt_store2 are f32; split-K's
  // workspace is f32 either way. KT_OUT_F32 is resolved with the text.
  const std::string body = cudagemm::resolveIf(
      cudagemm::resolveCluster(kBody, cluster), "KT_OUT_F32", p.outF32);
  const std::string &device = cudagemm::deviceSource(p.outF32);
  std::string o = fmt::format(
      "// ktune cuda.gemm.sm90: {} bm={} bn={} stages={} cons={} group={} "
      "splitk={}{}\n"
      "#define KT_BM {}\n#define KT_BN {}\n#define KT_STAGES {}\n"
      "#define KT_CONS {}\n#define KT_GROUP {}\n#define KT_TRANS_A {}\n"
      "#define KT_TRANS_B {}\n#define KT_BF16 {}\n#define KT_SM100 0\n"
      "#define KT_SPLIT {}\n{}{}",
      p.key(), q.bm, q.bn, q.stages, q.cons, q.group, q.splitk,
      cluster ? fmt::format(" cluster={}", q.cluster) : "", q.bm, q.bn,
      q.stages, q.cons, q.group, p.transA ? 1 : 0, p.transB ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0, q.splitk,
      cluster ? fmt::format("#define KT_CLUSTER {}\n", q.cluster) : "",
      p.outF32 ? "#define KT_OUT_F32 1\n" : "");
  if (cluster) {
    // kt_load_stage, the single-CTA stage load, is not used with clusters.
    return o + "#pragma nv_diag_suppress 177\n" + device +
           "#pragma nv_diag_default 177\n" + wgmmaWrapper(q, p) +
           cudagemm::clusterSource() + kClusterRelease +
           cudagemm::clusterLoadSource() + body;
  }
  return o + device + wgmmaWrapper(q, p) + body;
}

} // namespace kt::sm90
