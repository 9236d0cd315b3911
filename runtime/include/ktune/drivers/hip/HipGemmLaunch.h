// Launching an AMD GEMM code object: the launch description the HIP
// families emit next to their source (and the database stores next to the
// code object), and the host side that turns it plus a problem into a
// hipModuleLaunchKernel.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kt::hip {

/// Two kernel signatures, one workgroup per (tile, K slice), workgroup id
/// tile * split + slice, tile = tm * tilesN + tn:
///  - Dims (hip.gemm.mfma, "args=hip-pointers"): any problem of the
///    family's layout and dtype,
///      kt_gemm(const T *A, const T *B, T *C, int M, int N, int K, int lda,
///              int ldb, int ldc, float alpha, float beta, float *workspace,
///              unsigned *semaphores)
///    Split-K kernels (split > 1) need gemmWorkspaceBytes() of f32 scratch
///    and gemmSemaphores() counters zeroed once; they leave them zeroed.
///  - Static (hip.gemm.mlir, "args=pointers"): specialised to the problem's
///    shapes, kt_gemm(T *A, T *B, T *C, float alpha, float beta).
/// T is the problem's dtype; C is `float *` for f32out problems.
struct GemmLaunchSpec {
  enum class Args { Dims, Static };
  int threads = 0;
  int ldsBytes = 0; ///< Static LDS the code object declares (informative).
  int tileM = 0, tileN = 0;
  int split = 1, semaphoresPerTile = 0;
  Args args = Args::Dims;

  /// "threads=256;lds=65536;tile=128x128;grid=tiles;args=hip-pointers",
  /// then ";split=4;sems=1" for split-K kernels.
  std::string toString() const;
};

/// Parses toString()'s form; InvalidArgument naming the bad field.
Result<GemmLaunchSpec> parseGemmLaunchSpec(std::string_view text);

/// Workgroups a launch of `spec` uses for `p`.
unsigned gemmGridSize(const GemmLaunchSpec &spec, const GemmProblem &p);
/// Workspace bytes and semaphore count a split-K launch needs (0 if none).
uint64_t gemmWorkspaceBytes(const GemmLaunchSpec &spec, const GemmProblem &p);
uint64_t gemmSemaphores(const GemmLaunchSpec &spec, const GemmProblem &p);

struct GemmOperands {
  uint64_t a = 0, b = 0, c = 0; ///< Device addresses (16-byte aligned).
  float alpha = 1.0f, beta = 0.0f;
  /// Split-K only (see GemmLaunchSpec).
  uint64_t workspace = 0, semaphores = 0;
};

/// InvalidArgument where the problem or the operands do not suit the
/// kernel (dtype, alignment, sizes over int range, a split-K kernel without
/// its scratch): what launchGemm() refuses before touching the device.
Status checkGemmOperands(const GemmLaunchSpec &spec, const GemmProblem &p,
                         const GemmOperands &ops);

/// checkGemmOperands(), then launches `function` (asynchronously, on
/// `stream`).
Status launchGemm(const Context &ctx, void *function,
                  const GemmLaunchSpec &spec, const GemmProblem &p,
                  const GemmOperands &ops, void *stream = nullptr);

} // namespace kt::hip
