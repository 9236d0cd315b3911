#include "CudaGemmCommon.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kt::cudagemm {

const char *coreSource() {
  return R"CUDA(
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

// ---- shared-memory matrix descriptors, 128-byte swizzle ----
// Start address, leading and stride byte offsets in 16-byte units; the
// swizzle field sits at bit 62 for wgmma and at bit 61 (with version 1 at
// bit 46) for tcgen05.
static __device__ __forceinline__ u64 kt_desc(u32 addr, u32 lbo, u32 sbo) {
  return static_cast<u64>((addr & 0x3FFFF) >> 4) |
         (static_cast<u64>(lbo >> 4) << 16) |
#if KT_SM100
         (static_cast<u64>(sbo >> 4) << 32) | (1ull << 46) | (2ull << 61);
#else
         (static_cast<u64>(sbo >> 4) << 32) | (1ull << 62);
#endif
}

)CUDA";
}

const char *conversionSource() {
  return R"CUDA(// ---- element conversion (bits of bf16 / fp16) ----
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
)CUDA";
}

const char *packSource() {
  return R"CUDA(// lo in the low half (the lower address), hi in the high half.
static __device__ __forceinline__ u32 kt_pack(float lo, float hi) {
  u32 r;
#if KT_BF16
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}
)CUDA";
}

namespace {

constexpr const char *kGemmOperands =
    R"CUDA(constexpr int KT_BK = 64; // K per stage: one 128-byte swizzle row.
constexpr int KT_A_STAGE = KT_BM * KT_BK; // elements
constexpr int KT_B_STAGE = KT_BN * KT_BK; // elements
constexpr u32 KT_STAGE_BYTES = (KT_A_STAGE + KT_B_STAGE) * 2;

// Operand descriptors for k16 step `kk` of a stage. K-major tiles are rows
// of 128 bytes (8-row groups 1024 B apart; a k16 step is 32 B along the
// row); MN-major tiles are 64-wide chunks of 64 K-rows (chunks 8 KiB apart;
// a k16 step is 16 rows, 2 KiB).
static __device__ __forceinline__ u64 kt_a_desc(u32 base, int kk) {
#if KT_TRANS_A
  return kt_desc(base + kk * 2048, 64 * KT_BK * 2, 1024);
#else
  return kt_desc(base + kk * 32, 16, 1024);
#endif
}
static __device__ __forceinline__ u64 kt_b_desc(u32 base, int kk) {
#if KT_TRANS_B
  return kt_desc(base + kk * 32, 16, 1024);
#else
  return kt_desc(base + kk * 2048, 64 * KT_BK * 2, 1024);
#endif
}

// Issues the TMA loads of K block `kt` of tile (tm, tn) into stage buffers
// a and b, completing on `bar`.
static __device__ __forceinline__ void
kt_load_stage(u16 *a, u16 *b, const KtTensorMap *tmA, const KtTensorMap *tmB,
              u64 *bar, int tm, int tn, int kt) {
#if KT_TRANS_A
  // A stored K x M: boxes of 64 (M) x 64 (K), one per 64 rows.
#pragma unroll
  for (int c = 0; c < KT_BM / 64; ++c) {
    kt_tma_load(a + c * 64 * KT_BK, tmA, bar, tm * KT_BM + c * 64, kt * KT_BK);
  }
#else
  kt_tma_load(a, tmA, bar, kt * KT_BK, tm * KT_BM);
#endif
#if KT_TRANS_B
  kt_tma_load(b, tmB, bar, kt * KT_BK, tn * KT_BN);
#else
  // B stored K x N: boxes of 64 (N) x 64 (K), one per 64 columns.
#pragma unroll
  for (int c = 0; c < KT_BN / 64; ++c) {
    kt_tma_load(b + c * 64 * KT_BK, tmB, bar, tn * KT_BN + c * 64, kt * KT_BK);
  }
#endif
}

)CUDA";

// The `#if KT_OUT_F32` block is resolved when the text is generated
// (resolveIf), so a 16-bit C's text is what it was before f32 output existed.
constexpr const char *kGemmStore =
    R"CUDA(#if KT_OUT_F32
// c[0..1] = alpha-scaled v0, v1 (+ beta * c), f32 and unrounded: both where
// `left` >= 2 columns remain in the row (one 64-bit store: the column is
// even and ldc a multiple of 8), else only c[0].
static __device__ __forceinline__ void kt_store2(float *c, float v0, float v1,
                                                 int left, float beta) {
  if (left >= 2) {
    if (beta != 0.0f) {
      const float2 old = *reinterpret_cast<const float2 *>(c);
      v0 += beta * old.x;
      v1 += beta * old.y;
    }
    *reinterpret_cast<float2 *>(c) = make_float2(v0, v1);
  } else if (left == 1) {
    if (beta != 0.0f) {
      v0 += beta * *c;
    }
    *c = v0;
  }
}
#else
// c[0..1] = alpha-scaled v0, v1 (+ beta * c): both where `left` >= 2
// columns remain in the row (one 32-bit store), else only c[0].
static __device__ __forceinline__ void kt_store2(u16 *c, float v0, float v1,
                                                 int left, float beta) {
  if (left >= 2) {
    if (beta != 0.0f) {
      const u32 old = *reinterpret_cast<const u32 *>(c);
      v0 += beta * kt_to_f32(static_cast<u16>(old & 0xFFFF));
      v1 += beta * kt_to_f32(static_cast<u16>(old >> 16));
    }
    *reinterpret_cast<u32 *>(c) = kt_pack(v0, v1);
  } else if (left == 1) {
    if (beta != 0.0f) {
      v0 += beta * kt_to_f32(*c);
    }
    *c = kt_from_f32(v0);
  }
}
#endif

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
)CUDA";

} // namespace

const std::string &deviceSource(bool outF32) {
  // An f32 C needs no 16-bit conversion (and NVRTC would warn of the unused
  // helpers).
  static const std::string narrow = std::string(coreSource()) + kGemmOperands +
                                    conversionSource() + packSource() +
                                    resolveIf(kGemmStore, "KT_OUT_F32", false);
  static const std::string wide = std::string(coreSource()) + kGemmOperands +
                                  resolveIf(kGemmStore, "KT_OUT_F32", true);
  return outF32 ? wide : narrow;
}

const char *clusterSource() {
  return R"CUDA(
// ---- clusters of two CTAs ----
static __device__ __forceinline__ int kt_cluster_rank() {
  u32 r;
  asm("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  return static_cast<int>(r);
}
static __device__ __forceinline__ int kt_cluster_size() {
  u32 r;
  asm("mov.u32 %0, %%cluster_nctarank;" : "=r"(r));
  return static_cast<int>(r);
}
static __device__ __forceinline__ int kt_cluster_id() {
  u32 r;
  asm("mov.u32 %0, %%clusterid.x;" : "=r"(r));
  return static_cast<int>(r);
}
static __device__ __forceinline__ int kt_cluster_count() {
  u32 r;
  asm("mov.u32 %0, %%nclusterid.x;" : "=r"(r));
  return static_cast<int>(r);
}
// Every non-exited thread of both CTAs arrives, then waits for the others;
// what each did before arriving is visible to all after the wait.
static __device__ __forceinline__ void kt_cluster_sync() {
  asm volatile("barrier.cluster.arrive.release;\n"
               "barrier.cluster.wait.acquire;" ::: "memory");
}
)CUDA";
}

const char *clusterLoadSource() {
  return R"CUDA(// kt_bar_wait, acquiring at cluster scope (the arrivals come from both CTAs).
static __device__ __forceinline__ void kt_bar_wait_cluster(u64 *bar,
                                                           u32 parity) {
  u32 done = 0;
  do {
    asm volatile("{\n .reg .pred p;\n"
                 " mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 "
                 "p, [%1], %2;\n"
                 " selp.u32 %0, 1, 0, p;\n}"
                 : "=r"(done)
                 : "r"(kt_smem(bar)), "r"(parity)
                 : "memory");
  } while (!done);
}
// One 2-D box into the same offset of both CTAs' shared memory (CTA mask
// 0b11), completing on the barrier at `bar`'s offset in each.
static __device__ __forceinline__ void kt_tma_load_pair(void *dst,
                                                        const KtTensorMap *map,
                                                        u64 *bar, int x,
                                                        int y) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::"
      "complete_tx::bytes.multicast::cluster [%0], [%1, {%3, %4}], [%2], "
      "%5;" ::"r"(kt_smem(dst)),
      "l"(reinterpret_cast<u64>(map)), "r"(kt_smem(bar)), "r"(x), "r"(y),
      "h"(static_cast<u16>(3))
      : "memory");
}
// K block `kt` of this CTA's tile (tm, tn): its own A (unless `ownA` is
// false: a tile below M, which nothing reads) and its half of the pair's B
// tile, multicast into both CTAs. The halves split each box's rows: tile
// columns [rank * bn/2, +bn/2) of a K-major B (one bn/2 x 64 box), K rows
// [32 rank, +32) of each 64-column chunk of an N-major B (32 x 64 boxes).
// The halves start 4 KiB-aligned, so the 128-byte swizzle lays each out as
// the whole box would.
static __device__ __forceinline__ void
kt_load_stage_pair(u16 *a, u16 *b, const KtTensorMap *tmA,
                   const KtTensorMap *tmB, u64 *bar, int tm, int tn, int kt,
                   int rank, bool ownA) {
  if (ownA) {
#if KT_TRANS_A
#pragma unroll
    for (int c = 0; c < KT_BM / 64; ++c) {
      kt_tma_load(a + c * 64 * KT_BK, tmA, bar, tm * KT_BM + c * 64,
                  kt * KT_BK);
    }
#else
    kt_tma_load(a, tmA, bar, kt * KT_BK, tm * KT_BM);
#endif
  }
#if KT_TRANS_B
  kt_tma_load_pair(b + rank * (KT_BN / 2) * KT_BK, tmB, bar, kt * KT_BK,
                   tn * KT_BN + rank * (KT_BN / 2));
#else
#pragma unroll
  for (int c = 0; c < KT_BN / 64; ++c) {
    kt_tma_load_pair(b + c * 64 * KT_BK + rank * 32 * 64, tmB, bar,
                     tn * KT_BN + c * 64, kt * KT_BK + rank * 32);
  }
#endif
}
)CUDA";
}

std::string resolveIf(std::string_view body, std::string_view condition,
                      bool keep) {
  const std::string opening = "#if " + std::string(condition);
  struct Open {
    bool ours; // A block of `condition` (else a directive resolved later).
    bool keep; // Its current branch is emitted.
  };
  std::vector<Open> open;
  auto emitting = [&] {
    for (const Open &o : open) {
      if (o.ours && !o.keep) {
        return false;
      }
    }
    return true;
  };
  std::string out;
  while (!body.empty()) {
    const size_t end = body.find('\n');
    const size_t len = end == std::string_view::npos ? body.size() : end + 1;
    const std::string_view line = body.substr(0, len);
    body.remove_prefix(len);
    const std::string_view text = line.substr(0, line.find('\n'));
    if (text == opening) {
      open.push_back({true, keep});
      continue;
    }
    if (text.starts_with("#if")) {
      open.push_back({false, true});
    } else if (text == "#else" && !open.empty() && open.back().ours) {
      open.back().keep = !keep;
      continue;
    } else if (text.starts_with("#endif") && !open.empty()) {
      const bool ours = open.back().ours;
      open.pop_back();
      if (ours) {
        continue;
      }
    }
    if (emitting()) {
      out += line;
    }
  }
  return out;
}

std::string resolveCluster(std::string_view body, bool cluster) {
  return resolveIf(body, "KT_CLUSTER > 1", cluster);
}

bool supports(const GemmProblem &p, const TargetDesc &t,
              std::string_view arch) {
  // An f32 C (outF32) keeps the ldc rule: its rows then start 32-byte
  // aligned, and every float2 store at an even column 8-byte aligned.
  return t.kind == TargetKind::Cuda && t.arch == arch &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) && p.lda % 8 == 0 &&
         p.ldb % 8 == 0 && p.ldc % 8 == 0 && p.m <= INT32_MAX &&
         p.n <= INT32_MAX && p.k <= INT32_MAX;
}

std::vector<int64_t> splitFactors(const GemmProblem &p, int64_t bm, int64_t bn,
                                  int64_t sms) {
  const int64_t tiles = ((p.m + bm - 1) / bm) * ((p.n + bn - 1) / bn);
  const int64_t kBlocks = (p.k + 63) / 64;
  std::vector<int64_t> out = {1};
  for (int64_t s : {2, 4, 8}) {
    if (tiles * s <= 2 * sms && kBlocks / s >= 4) {
      out.push_back(s);
    }
  }
  return out;
}

bool clusterHelps(const GemmProblem &p, int64_t bm, int64_t bn, int64_t splitk,
                  int64_t sms) {
  const int64_t tilesM = (p.m + bm - 1) / bm, tilesN = (p.n + bn - 1) / bn;
  return splitk == 1 && bn >= 128 && bm * bn >= 128 * 128 && tilesM >= 2 &&
         (tilesM % 2 == 0 || tilesM >= 8) &&
         (tilesM + 1) / 2 * tilesN >= sms / 2;
}

std::vector<Config>
withClusterTwins(const std::vector<Config> &single,
                 const std::function<bool(const Config &)> &helps,
                 const std::function<bool(const Config &)> &valid) {
  std::vector<Config> out;
  for (const Config &c : single) {
    out.push_back(c);
    if (helps(c)) {
      Config pair = c;
      pair.set("cluster", 2);
      if (valid(pair)) {
        out.push_back(pair);
      }
    }
  }
  return out;
}

cuda::GemmLaunchSpec tmaLaunch(const GemmProblem &p, int threads,
                               int sharedBytes, int bm, int bn, int cluster) {
  cuda::GemmLaunchSpec s;
  s.threads = threads;
  s.sharedBytes = sharedBytes;
  s.tileM = bm;
  s.tileN = bn;
  s.boxARows = p.transA ? 64 : bm;
  s.boxACols = 64;
  s.boxBRows = p.transB ? bn : 64;
  s.boxBCols = 64;
  s.persistent = true;
  if (cluster == 2) {
    s.clusterM = 2;
    s.boxBRows /= 2;
  }
  return s;
}

} // namespace kt::cudagemm
