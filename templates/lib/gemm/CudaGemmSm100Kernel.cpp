// The CUDA C++ text of the sm_100a GEMM family: the configuration as
// #defines, the shared device helpers (CudaGemmCommon.cpp), the cluster
// helpers for cluster = 2, then the fixed kernel body (tcgen05 MMA into
// tensor memory, persistent tiles).
#include "CudaGemmSm100Kernel.h"

#include "CudaGemmCommon.h"

#include <fmt/format.h>

namespace kt::sm100 {
namespace {

constexpr const char *kMma = R"CUDA(
// ---- tcgen05 ----
static __device__ __forceinline__ void kt_mma(u32 tmem, u64 da, u64 db,
                                              u32 accumulate) {
  asm volatile("{\n .reg .pred p;\n setp.ne.b32 p, %4, 0;\n"
               " tcgen05.mma.cta_group::1.kind::f16 [%0], %1, %2, %3, p;\n}" ::
                   "r"(tmem),
               "l"(da), "l"(db), "r"(KT_IDESC), "r"(accumulate));
}
)CUDA";

// Clusters of two CTAs on vertically adjacent tiles (2 pm, tn) and
// (2 pm + 1, tn), which need the same B tile: each CTA's producer loads its
// own A and one half of B, multicast by TMA into both CTAs and counted on
// both CTAs' full barriers, so a full barrier expects a whole stage. Each
// CTA still issues its own MMAs (cta_group::1) into its own tensor memory;
// a stage may be overwritten only once the MMAs of both CTAs have read it,
// so each MMA thread's commit arrives on the empty barrier of both.
constexpr const char *kClusterCommit =
    R"CUDA(// Arrives on the barrier at `bar`'s offset in both CTAs of the cluster
// (CTA mask 0b11) once every tcgen05.mma issued so far has completed.
static __device__ __forceinline__ void kt_mma_commit_pair(u64 *bar) {
  asm volatile("tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::"
               "cluster.multicast::cluster.b64 [%0], %1;" ::"r"(kt_smem(bar)),
               "h"(static_cast<u16>(3))
               : "memory");
}
)CUDA";

// The kernel. The `#if KT_CLUSTER > 1` and `#if KT_OUT_F32` blocks are
// resolved when the text is generated (cudagemm::resolveIf), so a cluster = 1
// instance is the text it was before clusters existed, and one with a 16-bit
// C the text before f32 output.
constexpr const char *kBody =
    R"CUDA(// Warp 0: TMA producer. Warp 1: allocates tensor memory and issues the MMAs.
// Warps 2-5: epilogue, each reading the 32 tensor-memory lanes (rows) its
// warp index selects (warp % 4).
extern "C" __global__ void __launch_bounds__(192, 1)
kt_gemm(const __grid_constant__ KtTensorMap tmA,
#if KT_OUT_F32
        const __grid_constant__ KtTensorMap tmB, float *__restrict__ C, int M,
#else
        const __grid_constant__ KtTensorMap tmB, u16 *__restrict__ C, int M,
#endif
        int N, int K, int ldc, float alpha, float beta, float *ws, u32 *sems) {
  extern __shared__ __align__(1024) unsigned char kt_smem_raw[];
  unsigned char *smem =
      kt_smem_raw + ((1024 - (kt_smem(kt_smem_raw) & 1023)) & 1023);
  u16 *sA = reinterpret_cast<u16 *>(smem);
  u16 *sB = sA + KT_STAGES * KT_A_STAGE;
  u64 *full = reinterpret_cast<u64 *>(sB + KT_STAGES * KT_B_STAGE);
  u64 *empty = full + KT_STAGES;
  u64 *accFull = empty + KT_STAGES;
  u64 *accEmpty = accFull + KT_ACC;
  u32 *tmemSlot = reinterpret_cast<u32 *>(accEmpty + KT_ACC);
#if KT_SPLIT > 1
  u32 *arrived = tmemSlot + 1; // the epilogue's semaphore ticket
#endif

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
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
  const int tiles = tilesM * tilesN;
  const int units = tiles * KT_SPLIT;
#endif
  const int kIters = (K + KT_BK - 1) / KT_BK;
  const int kPer = (kIters + KT_SPLIT - 1) / KT_SPLIT; // K blocks per slice

  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&full[s], 1);
#if KT_CLUSTER > 1
      // Released by the MMA commits of both CTAs (kt_mma_commit_pair).
      kt_bar_init(&empty[s], 2);
#else
      kt_bar_init(&empty[s], 1);
#endif
    }
    for (int a = 0; a < KT_ACC; ++a) {
      kt_bar_init(&accFull[a], 1);
      kt_bar_init(&accEmpty[a], 128);
    }
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
#if KT_CLUSTER > 1
  // Both CTAs' barriers are initialised before either multicasts into the
  // other or arrives on its barriers.
  kt_cluster_sync();
#endif
  kt_tc_after_sync();
  const u32 tmem = *tmemSlot;

  if (warp == 0 && lane == 0) {
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
        // Free once the MMAs of both CTAs are done with it.
        kt_bar_wait_cluster(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
        kt_bar_expect_tx(&full[s],
                         own ? KT_STAGE_BYTES : u32(KT_B_STAGE * 2));
        kt_load_stage_pair(sA + s * KT_A_STAGE, sB + s * KT_B_STAGE, &tmA,
                           &tmB, &full[s], tm, tn, kt, rank, own);
      }
    }
    // Wait until both CTAs' MMAs have released every stage, so no commit
    // arrival on this CTA's barriers is still on its way when it exits.
    for (int i = 0; i < KT_STAGES; ++i, ++it) {
      kt_bar_wait_cluster(&empty[it % KT_STAGES],
                          ((it / KT_STAGES) & 1) ^ 1);
    }
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
  } else if (warp == 1 && lane == 0) {
    int it = 0, local = 0;
#if KT_CLUSTER > 1
    for (int unit = kt_cluster_id(); unit < units;
         unit += kt_cluster_count()) {
      const int pair = unit / KT_SPLIT, slice = unit % KT_SPLIT;
      int tm, tn;
      kt_tile(pair, pairsM, tilesN, tm, tn);
      const int kBegin = slice * kPer, kEnd = min(kIters, kBegin + kPer);
      if (2 * tm + rank >= tilesM) {
        // Below M: nothing to compute, but the stages (B halves from both
        // producers) arrive as for the other CTA and are released to both.
        for (int kt = kBegin; kt < kEnd; ++kt, ++it) {
          const int s = it % KT_STAGES;
          kt_bar_wait(&full[s], (it / KT_STAGES) & 1);
          kt_mma_commit_pair(&empty[s]);
        }
        continue;
      }
      // Accumulators are counted over this CTA's own tiles only.
      const int acc = local % KT_ACC;
      kt_bar_wait(&accEmpty[acc], ((local / KT_ACC) & 1) ^ 1);
      ++local;
#else
    for (int unit = blockIdx.x; unit < units; unit += gridDim.x, ++local) {
      const int slice = unit % KT_SPLIT;
      const int kBegin = slice * kPer, kEnd = min(kIters, kBegin + kPer);
      const int acc = local % KT_ACC;
      // Wait until the epilogue has drained this accumulator.
      kt_bar_wait(&accEmpty[acc], ((local / KT_ACC) & 1) ^ 1);
#endif
      kt_tc_after_sync();
      const u32 d = tmem + acc * KT_BN;
      for (int kt = kBegin; kt < kEnd; ++kt, ++it) {
        const int s = it % KT_STAGES;
        kt_bar_wait(&full[s], (it / KT_STAGES) & 1);
        kt_tc_after_sync();
        const u32 a = kt_smem(sA + s * KT_A_STAGE);
        const u32 b = kt_smem(sB + s * KT_B_STAGE);
#pragma unroll
        for (int kk = 0; kk < KT_BK / 16; ++kk) {
          kt_mma(d, kt_a_desc(a, kk), kt_b_desc(b, kk),
                 (kt - kBegin) != 0 || kk != 0);
        }
#if KT_CLUSTER > 1
        // Frees the stage in both CTAs when these MMAs finish: either
        // producer's half of B lands in both.
        kt_mma_commit_pair(&empty[s]);
#else
        kt_mma_commit(&empty[s]); // Frees the stage when these MMAs finish.
#endif
      }
      kt_mma_commit(&accFull[acc]); // The tile's sum is in tensor memory.
    }
  } else if (warp >= 2) {
    const int quarter = warp % 4; // The lanes (rows) this warp may read.
    int local = 0;
#if KT_CLUSTER > 1
    for (int unit = kt_cluster_id(); unit < units;
         unit += kt_cluster_count()) {
      int tm, tn;
      kt_tile(unit / KT_SPLIT, pairsM, tilesN, tm, tn);
      tm = 2 * tm + rank;
      if (tm >= tilesM) {
        continue; // Below M: no accumulator, nothing to store.
      }
      const int acc = local % KT_ACC;
      kt_bar_wait(&accFull[acc], (local / KT_ACC) & 1);
      ++local;
#else
    for (int unit = blockIdx.x; unit < units; unit += gridDim.x, ++local) {
      const int tile = unit / KT_SPLIT;
      int tm, tn;
      kt_tile(tile, tilesM, tilesN, tm, tn);
      const int acc = local % KT_ACC;
      kt_bar_wait(&accFull[acc], (local / KT_ACC) & 1);
#endif
      kt_tc_after_sync();
      const int row = tm * KT_BM + quarter * 32 + lane;
      const u32 base = tmem + (static_cast<u32>(quarter * 32) << 16) +
                       acc * KT_BN;
#if KT_SPLIT > 1
      // Split-K: this slice's partial tile goes to the workspace (row-
      // interleaved: coalesced), the accumulator is handed back, and the
      // last slice to count in on the tile's semaphore adds the slices in
      // order (a deterministic sum), stores the tile and resets the
      // semaphore for the next launch.
      const int t = quarter * 32 + lane; // the row within the tile
      const int slice = unit % KT_SPLIT;
#if KT_CLUSTER > 1
      const int tile = tm * tilesN + tn; // Its workspace slots, semaphore.
#endif
      const long long slot = static_cast<long long>(KT_BM) * KT_BN;
      float *first = ws + static_cast<long long>(tile) * KT_SPLIT * slot;
#pragma unroll 1
      for (int c0 = 0; c0 < KT_BN; c0 += 16) {
        float v[16];
        kt_tmem_ld16(base + c0, v);
#pragma unroll
        for (int i = 0; i < 16; ++i) {
          first[slice * slot + (c0 + i) * KT_BM + t] = v[i];
        }
      }
      kt_tc_before_sync();
      kt_bar_arrive(&accEmpty[acc]);
      __threadfence();
      asm volatile("bar.sync 1, 128;" ::: "memory");
      if (t == 0) {
        *arrived = atomicAdd(&sems[tile], 1u);
      }
      asm volatile("bar.sync 1, 128;" ::: "memory");
      if (*arrived != KT_SPLIT - 1) {
        continue; // A later slice finishes this tile.
      }
      __threadfence();
#pragma unroll 1
      for (int c0 = 0; c0 < KT_BN; c0 += 16) {
        const int col = tn * KT_BN + c0;
        if (row >= M || col >= N) {
          continue;
        }
        float v[16];
#pragma unroll
        for (int i = 0; i < 16; ++i) {
          float total = 0.0f;
          for (int sl = 0; sl < KT_SPLIT; ++sl) {
            total += __ldcg(first + sl * slot + (c0 + i) * KT_BM + t);
          }
          v[i] = total;
        }
#if KT_OUT_F32
        float *c = C + static_cast<long long>(row) * ldc + col;
#else
        u16 *c = C + static_cast<long long>(row) * ldc + col;
#endif
#pragma unroll
        for (int i = 0; i < 16; i += 2) {
          kt_store2(c + i, alpha * v[i], alpha * v[i + 1], N - col - i, beta);
        }
      }
      if (t == 0) {
        sems[tile] = 0; // Ready for the next launch.
      }
#else
#pragma unroll 1
      for (int c0 = 0; c0 < KT_BN; c0 += 16) {
        float v[16];
        kt_tmem_ld16(base + c0, v);
        const int col = tn * KT_BN + c0;
        if (row >= M || col >= N) {
          continue;
        }
#if KT_OUT_F32
        float *c = C + static_cast<long long>(row) * ldc + col;
#else
        u16 *c = C + static_cast<long long>(row) * ldc + col;
#endif
#pragma unroll
        for (int i = 0; i < 16; i += 2) {
          kt_store2(c + i, alpha * v[i], alpha * v[i + 1], N - col - i, beta);
        }
      }
      kt_tc_before_sync();
      kt_bar_arrive(&accEmpty[acc]);
#endif
    }
  }
#if KT_CLUSTER > 1
  // Nothing of the other CTA's is still on its way into this one: its
  // multicasts were waited for (full barriers), its commits on this CTA's
  // empty barriers too (the producer's drain). Both CTAs leave together.
  kt_cluster_sync();
#endif
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

const char *tcgen05Source() {
  return R"CUDA(// Arrives on `bar` once every tcgen05.mma issued so far has completed.
static __device__ __forceinline__ void kt_mma_commit(u64 *bar) {
  asm volatile("tcgen05.commit.cta_group::1.mbarrier::arrive::one.shared::"
               "cluster.b64 [%0];" ::"r"(kt_smem(bar))
               : "memory");
}
static __device__ __forceinline__ void kt_tc_before_sync() {
  asm volatile("tcgen05.fence::before_thread_sync;" ::: "memory");
}
static __device__ __forceinline__ void kt_tc_after_sync() {
  asm volatile("tcgen05.fence::after_thread_sync;" ::: "memory");
}
// 32 lanes x 16 columns of f32 from tensor memory: this thread's row.
static __device__ __forceinline__ void kt_tmem_ld16(u32 taddr, float *v) {
  u32 r[16];
  asm volatile("tcgen05.ld.sync.aligned.32x32b.x16.b32 {%0, %1, %2, %3, %4, "
               "%5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, [%16];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]), "=r"(r[4]),
                 "=r"(r[5]), "=r"(r[6]), "=r"(r[7]), "=r"(r[8]), "=r"(r[9]),
                 "=r"(r[10]), "=r"(r[11]), "=r"(r[12]), "=r"(r[13]),
                 "=r"(r[14]), "=r"(r[15])
               : "r"(taddr));
  asm volatile("tcgen05.wait::ld.sync.aligned;" ::: "memory");
#pragma unroll
  for (int i = 0; i < 16; ++i) {
    v[i] = __uint_as_float(r[i]);
  }
}

)CUDA";
}

uint32_t instructionDescriptor(const Params &q, const GemmProblem &p) {
  uint32_t d = 0;
  d |= 1u << 4; // D: f32
  const uint32_t fmt = p.dtype == DType::BF16 ? 1u : 0u;
  d |= fmt << 7;                   // A: bf16 / f16
  d |= fmt << 10;                  // B: bf16 / f16
  d |= (p.transA ? 1u : 0u) << 15; // A: 0 K-major, 1 M-major
  d |= (p.transB ? 0u : 1u) << 16; // B: 0 K-major, 1 N-major
  d |= uint32_t(q.bn >> 3) << 17;  // N / 8
  d |= uint32_t(128 >> 4) << 24;   // M / 16
  return d;
}

std::string kernelSource(const Params &q, const GemmProblem &p) {
  const bool cluster = q.cluster > 1;
  // An f32 C (p.outF32): the C pointer and kt_store2 are f32, read from
  // tensor memory (or the f32 split-K workspace) and stored unrounded.
  const std::string body = cudagemm::resolveIf(
      cudagemm::resolveCluster(kBody, cluster), "KT_OUT_F32", p.outF32);
  const std::string &device = cudagemm::deviceSource(p.outF32);
  const std::string o = fmt::format(
      "// ktune cuda.gemm.sm100: {} bn={} stages={} acc={} group={} "
      "splitk={}{}\n"
      "#define KT_BM 128\n#define KT_SM100 1\n"
      "#define KT_BN {}\n#define KT_STAGES {}\n#define KT_ACC {}\n"
      "#define KT_GROUP {}\n#define KT_TRANS_A {}\n#define KT_TRANS_B "
      "{}\n#define KT_BF16 {}\n#define KT_TMEM_COLS {}\n"
      "#define KT_IDESC {}u\n#define KT_SPLIT {}\n{}{}",
      p.key(), q.bn, q.stages, q.acc, q.group, q.splitk,
      cluster ? fmt::format(" cluster={}", q.cluster) : "", q.bn, q.stages,
      q.acc, q.group, p.transA ? 1 : 0, p.transB ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0, tmemColumns(q),
      instructionDescriptor(q, p), q.splitk,
      cluster ? fmt::format("#define KT_CLUSTER {}\n", q.cluster) : "",
      p.outF32 ? "#define KT_OUT_F32 1\n" : "");
  if (cluster) {
    // kt_load_stage, the single-CTA stage load, is not used with clusters.
    return o + "#pragma nv_diag_suppress 177\n" + device +
           "#pragma nv_diag_default 177\n" + kMma + tcgen05Source() +
           cudagemm::clusterSource() + kClusterCommit +
           cudagemm::clusterLoadSource() + body;
  }
  return o + device + kMma + tcgen05Source() + body;
}

} // namespace kt::sm100
