// Launching a TMA-fed GEMM kernel: the launch description a template emits
// next to its source (and the database stores next to the code object), and
// the host side that turns it plus a problem into a kernel launch.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/problem/GemmProblem.h"

#include <string>
#include <string_view>

namespace kt::cuda {

/// The kernel's signature is fixed:
///   kt_gemm(CUtensorMap A, CUtensorMap B, T *C, int M, int N, int K,
///           int ldc, float alpha, float beta, float *workspace,
///           unsigned *semaphores)
/// (T the problem's dtype; C is `float *` for f32out problems) with A and B
/// described as stored (row-major, transposes applied) and
/// copied in boxes of boxA / boxB (rows x columns, 128-byte swizzle). Split-K
/// kernels (split > 1) need an f32 workspace and zeroed semaphores (see
/// gemmWorkspaceBytes / gemmSemaphores); they leave the semaphores zeroed.
/// Cluster kernels (clusterM x clusterN > 1) are launched in thread-block
/// clusters of clusterM * clusterN x 1 x 1 CTAs (the grid is 1-D); each
/// cluster works on clusterM x clusterN adjacent output tiles at a time.
struct GemmLaunchSpec {
  int threads = 0;
  int sharedBytes = 0;
  int tileM = 0, tileN = 0;
  int boxARows = 0, boxACols = 0;
  int boxBRows = 0, boxBCols = 0;
  /// One CTA per SM walking the tiles (true), or one CTA per tile.
  bool persistent = true;
  /// K slices per tile (split-K) and semaphores per tile.
  int split = 1, semaphoresPerTile = 0;
  /// Tiles a cluster covers: tile rows x tile columns (1 x 1: no clusters).
  int clusterM = 1, clusterN = 1;
  /// The other signature, of kernels specialised to a problem's shapes
  /// (cuda.gemm.mlir): kt_gemm(T *A, T *B, T *C, float alpha, float beta),
  /// one CTA per tile, tile index blockIdx.x = tm * tilesN + tn.
  bool pointers = false;

  /// "threads=384;smem=197760;tile=128x256;box_a=128x64;box_b=64x64;
  /// grid=persistent", then ";cluster=2x1" for cluster kernels and
  /// ";split=4;sems=2" for split-K kernels;
  /// "threads=256;smem=0;tile=128x128;grid=tiles;args=pointers" for
  /// pointer kernels.
  std::string toString() const;

  /// CTAs per cluster (1: launched without clusters).
  int clusterSize() const { return clusterM * clusterN; }
};

/// Parses toString()'s form; InvalidArgument naming the bad field.
Result<GemmLaunchSpec> parseGemmLaunchSpec(std::string_view text);

struct GemmOperands {
  uint64_t a = 0, b = 0, c = 0; ///< Device addresses (16-byte aligned).
  float alpha = 1.0f, beta = 0.0f;
  /// Split-K only: gemmWorkspaceBytes() of f32 scratch and gemmSemaphores()
  /// 32-bit counters, zeroed before first use.
  uint64_t workspace = 0, semaphores = 0;
};

/// Number of CTAs a launch of `spec` uses for `p` on `smCount` SMs: a
/// multiple of the cluster size; persistent kernels get at most one CTA per
/// SM (and at most one cluster per work unit of clusterM x clusterN tiles).
unsigned gemmGridSize(const GemmLaunchSpec &spec, const GemmProblem &p,
                      int smCount);
/// Workspace bytes and semaphore count a split-K launch needs (0 if none).
uint64_t gemmWorkspaceBytes(const GemmLaunchSpec &spec, const GemmProblem &p);
uint64_t gemmSemaphores(const GemmLaunchSpec &spec, const GemmProblem &p);

/// A launch with its tensor maps encoded and arguments bound, to repeat
/// without host-side work (the maps hold the operand addresses).
struct PreparedGemm {
  void *function = nullptr;
  LaunchConfig config;
  TensorMap mapA, mapB;
  uint64_t c = 0;
  int m = 0, n = 0, k = 0, ldc = 0;
  float alpha = 1.0f, beta = 0.0f;
  uint64_t workspace = 0, semaphores = 0;
  bool pointers = false;
  uint64_t a = 0, b = 0; ///< Pointer kernels only.
};

/// Encodes the A and B tensor maps, raises the function's dynamic shared
/// memory limit and sets the cluster shape. InvalidArgument where the problem
/// or the pointers do not suit the kernel (alignment, dtype).
Result<PreparedGemm> prepareGemm(const Context &ctx, void *function,
                                 const GemmLaunchSpec &spec,
                                 const GemmProblem &p, const GemmOperands &ops,
                                 int smCount, void *stream = nullptr);

/// Launches a prepared GEMM (asynchronously, on its stream).
Status launchPrepared(const Context &ctx, const PreparedGemm &g);

/// prepareGemm() then launchPrepared().
Status launchGemm(const Context &ctx, void *function,
                  const GemmLaunchSpec &spec, const GemmProblem &p,
                  const GemmOperands &ops, int smCount, void *stream = nullptr);

} // namespace kt::cuda
