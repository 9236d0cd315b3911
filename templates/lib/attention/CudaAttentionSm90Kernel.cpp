// The CUDA C++ text of the sm_90a attention family: the configuration as
// #defines, the CUDA helpers the GEMM families share (element types, TMA,
// mbarrier, descriptors, conversions), the attention helpers the sm_100a
// family shares, the two wgmma wrappers for this instance's shapes, then
// the fixed kernel body.
#include "CudaAttentionSm90Kernel.h"

#include "../gemm/CudaGemmCommon.h"
#include "CudaAttentionCommon.h"

#include <fmt/format.h>

namespace kt::attn90 {
namespace {

// The fixed part. Everything shape- or type-specific comes from the KT_*
// constants and the wrappers placed before it.
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

extern "C" __global__ void __launch_bounds__(128 * (KT_CONS + 1), 1)
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
#if KT_SPLIT > 1
  u32 *arrived = reinterpret_cast<u32 *>(empty + KT_STAGES); // per consumer
#endif

  const KtWork w = kt_work(B, Hq, Hkv, Sq, Skv);

  const int wg = threadIdx.x / 128;
  if (threadIdx.x == 0) {
    for (int s = 0; s < KT_STAGES; ++s) {
      kt_bar_init(&fullK[s], 1);
      kt_bar_init(&fullV[s], 1);
      kt_bar_init(&empty[s], 128 * KT_CONS);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  if (wg == 0) {
    // Producer warpgroup: gives its registers to the consumers.
#if KT_CONS > 1
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;");
#endif
    if (threadIdx.x != 0) {
      return;
    }
    int it = 0;
    for (int blk = w.blkBegin; blk < w.blkEnd; ++blk, ++it) {
      const int s = it % KT_STAGES;
      kt_bar_wait(&empty[s], ((it / KT_STAGES) & 1) ^ 1);
      kt_load_kv(sK + s * KT_KV_ELEMS, sV + s * KT_KV_ELEMS, &tmK, &tmV,
                 &fullK[s], &fullV[s], w, Hkv, Skv, blk);
    }
    return;
  }

  // Consumer warpgroups.
#if KT_CONS == 2
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;");
#elif KT_CONS == 3
  asm volatile("setmaxnreg.inc.sync.aligned.u32 160;");
#endif
  const int cons = wg - 1;
  const int t = threadIdx.x % 128;
  const int warp = t / 32, lane = t % 32;

  // This warpgroup's 64 Q rows into shared memory.
  kt_load_q(sQ, Q, w, Hq, Sq, cons * 64, 64, t, 128);
  kt_fence_proxy_async();
  kt_named_sync(1 + cons, 128);

  // This thread's two rows (accumulator halves 0 and 1) and the first key
  // each may not see.
  const int row0 = cons * 64 + 16 * warp + lane / 4;
  const int lim[2] = {kt_key_limit(w, w.firstRow + row0, Sq, Skv),
                      kt_key_limit(w, w.firstRow + row0 + 8, Sq, Skv)};

  float o[KT_D / 2];
#pragma unroll
  for (int i = 0; i < KT_D / 2; ++i) {
    o[i] = 0.0f;
  }
  float m[2] = {KT_NEG_INF, KT_NEG_INF}; // running row max (log2 domain)
  float l[2] = {0.0f, 0.0f};           // running row sum, this thread's part
  const u32 qBase = kt_smem(sQ) + cons * 64 * 128;

  int it = 0;
  for (int blk = w.blkBegin; blk < w.blkEnd; ++blk, ++it) {
    const int st = it % KT_STAGES;
    const u32 phase = (it / KT_STAGES) & 1;

    // S = Q K^T.
    float sc[KT_KV / 2];
#pragma unroll
    for (int i = 0; i < KT_KV / 2; ++i) {
      sc[i] = 0.0f;
    }
    kt_bar_wait(&fullK[st], phase);
    const u32 kBase = kt_smem(sK + st * KT_KV_ELEMS);
    kt_wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < KT_D / 16; ++kk) {
      kt_wgmma_s(sc,
                 kt_desc(qBase + (kk / 4) * KT_ROWS * 128 + (kk % 4) * 32, 16,
                         1024),
                 kt_desc(kBase + (kk / 4) * KT_KV * 128 + (kk % 4) * 32, 16,
                         1024));
    }
    kt_wgmma_commit();
    kt_wgmma_wait<0>();

    // Element i of sc is row row0 + 8 * ((i / 2) % 2), key
    // blk * kv + 8 * (i / 4) + 2 * (lane % 4) + i % 2.
    if (blk >= w.unmasked) {
      const int key0 = blk * KT_KV + 2 * (lane % 4);
#pragma unroll
      for (int i = 0; i < KT_KV / 2; ++i) {
        if (key0 + 8 * (i / 4) + i % 2 >= lim[(i / 2) % 2]) {
          sc[i] = KT_NEG_INF;
        }
      }
    }

    // Online softmax: the block's row maxima over the quad that shares a
    // row, the rescale of what came before, P = exp2(S * scale - max).
    float mx[2] = {KT_NEG_INF, KT_NEG_INF};
#pragma unroll
    for (int i = 0; i < KT_KV / 2; ++i) {
      mx[(i / 2) % 2] = fmaxf(mx[(i / 2) % 2], sc[i]);
    }
    float base[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 1));
      mx[half] = fmaxf(mx[half], __shfl_xor_sync(0xffffffffu, mx[half], 2));
      const float next = fmaxf(m[half], mx[half] * scaleLog2);
      // A row that has seen no key yet keeps -inf; subtracting 0 then keeps
      // exp2 at 0 instead of NaN.
      base[half] = next == KT_NEG_INF ? 0.0f : next;
      const float alpha = kt_exp2(m[half] - base[half]);
      m[half] = next;
      l[half] *= alpha;
#pragma unroll
      for (int i = 0; i < KT_D / 2; ++i) {
        if ((i / 2) % 2 == half) {
          o[i] *= alpha;
        }
      }
    }
    // P as wgmma A fragments: k16 step j takes sc[8j .. 8j + 7] in pairs.
    u32 pa[KT_KV / 16][4];
#pragma unroll
    for (int j = 0; j < KT_KV / 16; ++j) {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const int i = 8 * j + 2 * q;
        const float p0 = kt_exp2(fmaf(sc[i], scaleLog2, -base[q % 2]));
        const float p1 = kt_exp2(fmaf(sc[i + 1], scaleLog2, -base[q % 2]));
        l[q % 2] += p0 + p1;
        pa[j][q] = kt_pack(p0, p1);
      }
    }

    // O += P V.
    kt_bar_wait(&fullV[st], phase);
    const u32 vBase = kt_smem(sV + st * KT_KV_ELEMS);
    kt_wgmma_fence();
#pragma unroll
    for (int j = 0; j < KT_KV / 16; ++j) {
      kt_wgmma_o(o, pa[j], kt_desc(vBase + j * 2048, KT_KV * 128, 1024));
    }
    kt_wgmma_commit();
    kt_wgmma_wait<0>();
    kt_bar_arrive(&empty[st]);
  }

#pragma unroll
  for (int half = 0; half < 2; ++half) {
    l[half] += __shfl_xor_sync(0xffffffffu, l[half], 1);
    l[half] += __shfl_xor_sync(0xffffffffu, l[half], 2);
  }

#if KT_SPLIT > 1
  {
    // This thread's partials, 128 threads apart: coalesced in and out: d / 2
    // outputs, two row maxima and two row sums.
    constexpr int KT_PART = KT_D / 2 + 4;
    const long long part = static_cast<long long>(KT_CONS) * 128 * KT_PART;
    float *first = ws + static_cast<long long>(w.slot) * KT_SPLIT * part +
                   cons * 128 * KT_PART;
    float *mine = first + w.split * part;
#pragma unroll
    for (int i = 0; i < KT_D / 2; ++i) {
      mine[i * 128 + t] = o[i];
    }
    mine[(KT_D / 2) * 128 + t] = m[0];
    mine[(KT_D / 2 + 1) * 128 + t] = m[1];
    mine[(KT_D / 2 + 2) * 128 + t] = l[0];
    mine[(KT_D / 2 + 3) * 128 + t] = l[1];
    __threadfence();
    kt_named_sync(1 + cons, 128);
    if (t == 0) {
      arrived[cons] = atomicAdd(&sems[w.slot * KT_CONS + cons], 1u);
    }
    kt_named_sync(1 + cons, 128);
    if (arrived[cons] != KT_SPLIT - 1) {
      return; // A later split finishes this tile.
    }
    __threadfence();
    // Merge the splits in order (deterministic): rescale each to the
    // largest maximum.
    float top[2] = {KT_NEG_INF, KT_NEG_INF};
    for (int sl = 0; sl < KT_SPLIT; ++sl) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        top[half] = fmaxf(top[half],
                          __ldcg(first + sl * part + (KT_D / 2 + half) * 128 + t));
      }
    }
    float wt[2], sum[2] = {0.0f, 0.0f};
    float acc[KT_D / 2];
#pragma unroll
    for (int i = 0; i < KT_D / 2; ++i) {
      acc[i] = 0.0f;
    }
    for (int sl = 0; sl < KT_SPLIT; ++sl) {
      const float *theirs = first + sl * part;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float mh = __ldcg(theirs + (KT_D / 2 + half) * 128 + t);
        wt[half] = top[half] == KT_NEG_INF ? 0.0f : kt_exp2(mh - top[half]);
        sum[half] += wt[half] * __ldcg(theirs + (KT_D / 2 + 2 + half) * 128 + t);
      }
#pragma unroll
      for (int i = 0; i < KT_D / 2; ++i) {
        acc[i] += wt[(i / 2) % 2] * __ldcg(theirs + i * 128 + t);
      }
    }
#pragma unroll
    for (int i = 0; i < KT_D / 2; ++i) {
      o[i] = acc[i];
    }
    l[0] = sum[0];
    l[1] = sum[1];
    if (t == 0) {
      sems[w.slot * KT_CONS + cons] = 0; // Ready for the next launch.
    }
  }
#endif

  // Store O / l; a row that saw no key stores 0. Output element i of this
  // thread is row row0 + 8 * ((i / 2) % 2), column 8 * (i / 4) +
  // 2 * (lane % 4) + i % 2.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int lr = w.firstRow + row0 + 8 * half;
    if (lr >= w.unitRows) {
      continue;
    }
    int s, h;
    kt_row(lr, w.hu, s, h);
    u16 *out = O + kt_q_offset(w.b, h, s, Hq, Sq) + 2 * (lane % 4);
    const float inv = l[half] > 0.0f ? 1.0f / l[half] : 0.0f;
#pragma unroll
    for (int i = 2 * half; i < KT_D / 2; i += 4) {
      *reinterpret_cast<u32 *>(out + 8 * (i / 4)) =
          kt_pack(o[i] * inv, o[i + 1] * inv);
    }
  }
}
)CUDA";

/// kt_wgmma_s(): scores, m64 x kv x k16 from two K-major shared-memory
/// descriptors into kv / 2 f32 registers. kt_wgmma_o(): the output,
/// m64 x d x k16 with P from four registers and V N-major (transposed) in
/// shared memory, into d / 2 f32 registers.
std::string wgmmaWrappers(const Params &q, const AttentionProblem &p) {
  const char *ty = p.dtype == DType::BF16 ? "bf16" : "f16";
  auto regList = [](int64_t n) {
    std::string list, outs;
    for (int64_t i = 0; i < n; ++i) {
      list += fmt::format("{}%{}", i ? ", " : "", i);
      outs += fmt::format("{}\"+f\"(d[{}])", i ? ", " : "", i);
    }
    return std::make_pair(list, outs);
  };
  const auto [sList, sOuts] = regList(q.kv / 2);
  const auto [oList, oOuts] = regList(p.d / 2);
  const int64_t sn = q.kv / 2, on = p.d / 2;
  std::string out = fmt::format(
      "static __device__ __forceinline__ void kt_wgmma_s(float (&d)[{0}], "
      "u64 da, u64 db) {{\n"
      "  asm volatile(\"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{1}, 0;\\n"
      " wgmma.mma_async.sync.aligned.m64n{2}k16.f32.{3}.{3} {{{4}}}, %{5}, "
      "%{6}, p, 1, 1, 0, 0;\\n}}\"\n"
      "      : {7}\n"
      "      : \"r\"(1), \"l\"(da), \"l\"(db));\n"
      "}}\n",
      sn, sn, q.kv, ty, sList, sn + 1, sn + 2, sOuts);
  out += fmt::format(
      "static __device__ __forceinline__ void kt_wgmma_o(float (&d)[{0}], "
      "const u32 (&a)[4], u64 db) {{\n"
      "  asm volatile(\"{{\\n .reg .pred p;\\n setp.ne.b32 p, %{1}, 0;\\n"
      " wgmma.mma_async.sync.aligned.m64n{2}k16.f32.{3}.{3} {{{4}}}, "
      "{{%{5}, %{6}, %{7}, %{8}}}, %{9}, p, 1, 1, 1;\\n}}\"\n"
      "      : {10}\n"
      "      : \"r\"(1), \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), "
      "\"l\"(db));\n"
      "}}\n",
      on, on, p.d, ty, oList, on + 1, on + 2, on + 3, on + 4, on + 5, oOuts);
  return out;
}

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p) {
  const int64_t pack = q.pack ? p.hq / p.hkv : 1;
  std::string o = fmt::format(
      "// ktune cuda.attention.sm90: {} kv={} cons={} stages={} split={} "
      "pack={}\n"
      "#define KT_D {}\n#define KT_ROWS {}\n#define KT_KV {}\n"
      "#define KT_STAGES {}\n#define KT_CONS {}\n#define KT_SPLIT {}\n"
      "#define KT_PACK {}\n#define KT_BSHD {}\n#define KT_CAUSAL {}\n"
      "#define KT_BF16 {}\n#define KT_SM100 0\n",
      p.key(), q.kv, q.cons, q.stages, q.split, q.pack, p.d, rows(q), q.kv,
      q.stages, q.cons, q.split, pack,
      p.layout == AttentionProblem::Layout::BSHD ? 1 : 0, p.causal ? 1 : 0,
      p.dtype == DType::BF16 ? 1 : 0);
  return o + cudagemm::coreSource() + cudagemm::packSource() +
         cudaattn::deviceSource() + wgmmaWrappers(q, p) + kBody;
}

} // namespace kt::attn90
