// Launching a TMA-fed attention kernel (cuda.attention.sm90): the launch
// description the template emits next to its source (and the database
// stores next to the code object), and the host side that turns it plus a
// problem into a kernel launch.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/problem/AttentionProblem.h"

#include <string>
#include <string_view>

namespace kt::cuda {

/// The kernel's signature is fixed:
///   kt_attention(CUtensorMap K, CUtensorMap V, const T *Q, T *O, int B,
///                int Hq, int Hkv, int Sq, int Skv, float scaleLog2,
///                float *workspace, unsigned *semaphores)
/// K and V are copied as 2-D views (BSHD: [b * skv, hkv * d]; BHSD:
/// [b * hkv * skv, d]) in boxes of kvRows x 64 (128-byte swizzle). One CTA
/// per (query tile of `rows` rows, batch, head unit, KV split); with
/// pack > 1 a head unit is a KV head whose `pack` query heads share the
/// rows. Split kernels (split > 1) need an f32 workspace and zeroed
/// semaphores (attentionWorkspaceBytes / attentionSemaphores) and leave the
/// semaphores zeroed. Persistent kernels take at most one CTA per SM, each
/// walking the work units by the grid size.
struct AttentionLaunchSpec {
  int threads = 0;
  int sharedBytes = 0;
  int rows = 0;   ///< Query rows per CTA.
  int kvRows = 0; ///< KV rows per block (the TMA box height).
  int split = 1;
  int pack = 1;
  /// Semaphores per tile, and the split-KV scratch: each semaphore brings
  /// 64 rows x (d + 8) floats per split (one per sm90 consumer warpgroup;
  /// rows / 64, at least one, for the other kernels), so that a split of a
  /// tile may keep rows x (d + 8) floats: outputs, row maxima and sums.
  int semaphoresPerTile = 1;
  /// The other signature, of kernels specialised to one problem's shapes
  /// (cuda.attention.mlir): kt_attention(const T *Q, const T *K, const T *V,
  /// T *O, float scaleLog2), and with split > 1 also (float *workspace,
  /// unsigned *semaphores); the same grid.
  bool pointers = false;
  /// One CTA per SM at most, looping over the work units (any grid size
  /// computes the whole problem).
  bool persistent = false;

  /// "threads=384;smem=197760;rows=128;kv=128;split=1;pack=1;sems=2", then
  /// ";args=pointers" for pointer kernels and ";grid=persistent" for
  /// persistent ones.
  std::string toString() const;
};

/// Parses toString()'s form; InvalidArgument naming the bad field.
Result<AttentionLaunchSpec> parseAttentionLaunchSpec(std::string_view text);

struct AttentionOperands {
  uint64_t q = 0, k = 0, v = 0, o = 0; ///< Device addresses (16-byte aligned).
  float scale = 0.0f;                  ///< 0: 1 / sqrt(d).
  /// Split kernels only: attentionWorkspaceBytes() of f32 scratch and
  /// attentionSemaphores() 32-bit counters, zeroed before first use.
  uint64_t workspace = 0, semaphores = 0;
};

/// What every GPU attention launch (CUDA or HIP) refuses before touching
/// the device: a problem or operands the kernel does not suit (dtype, head
/// dim for TMA kernels, the packed group, alignment, split scratch);
/// InvalidArgument naming the problem.
Status checkAttentionOperands(const AttentionLaunchSpec &spec,
                              const AttentionProblem &p,
                              const AttentionOperands &ops, bool tma);

/// scale (0: 1 / sqrt(d)) times log2(e): what the kernels take, since they
/// exponentiate with exp2.
float attentionScaleLog2(const AttentionProblem &p, float scale);

/// CTAs a launch of `spec` uses for `p` on `smCount` SMs: one per work
/// unit, or for persistent kernels at most one per SM (smCount <= 0: one per
/// unit).
unsigned attentionGridSize(const AttentionLaunchSpec &spec,
                           const AttentionProblem &p, int smCount = 0);
/// Workspace bytes and semaphore count a split launch needs (0 if none).
uint64_t attentionWorkspaceBytes(const AttentionLaunchSpec &spec,
                                 const AttentionProblem &p);
uint64_t attentionSemaphores(const AttentionLaunchSpec &spec,
                             const AttentionProblem &p);

/// A launch with its tensor maps encoded and arguments bound, to repeat
/// without host-side work.
struct PreparedAttention {
  void *function = nullptr;
  LaunchConfig config;
  TensorMap mapK, mapV;
  uint64_t q = 0, o = 0;
  int b = 0, hq = 0, hkv = 0, sq = 0, skv = 0;
  float scaleLog2 = 0.0f;
  uint64_t workspace = 0, semaphores = 0;
  bool pointers = false;
  uint64_t k = 0, v = 0; ///< Pointer kernels only.
  /// Pointer kernels with split > 1: workspace and semaphores follow
  /// scaleLog2.
  bool splitArgs = false;
};

/// Encodes the K and V tensor maps and raises the function's dynamic shared
/// memory limit; persistent kernels get at most `smCount` CTAs (<= 0: one
/// per work unit).
/// InvalidArgument where the problem or the pointers do not suit the kernel
/// (alignment, dtype, head dim, split buffers).
Result<PreparedAttention> prepareAttention(const Context &ctx, void *function,
                                           const AttentionLaunchSpec &spec,
                                           const AttentionProblem &p,
                                           const AttentionOperands &ops,
                                           int smCount, void *stream = nullptr);

/// Launches a prepared attention (asynchronously, on its stream).
Status launchPrepared(const Context &ctx, const PreparedAttention &a);

} // namespace kt::cuda
