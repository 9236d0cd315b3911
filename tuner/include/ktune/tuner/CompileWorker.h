// Compiling a candidate in a separate process, so a compile that hangs or
// eats all memory (an MLIR pattern set that does not converge, say) costs one
// candidate, not the tuning run: CPU candidates, and the GPU candidates the
// tuner compiles itself (MLIR families; every HIP family).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/tuner/CompileLimits.h"

#include <cstdint>
#include <string>

namespace kt {

/// Compiles `src` with `compiler`'s target and cache folder: in process when
/// `limits.worker` is empty, else in `worker compile-worker ...`, killed after
/// the timeout. Failures name the cause (timeout, memory, compile error).
Result<CompiledKernel> compileLimited(const CpuCompiler &compiler,
                                      const KernelSource &src,
                                      const std::string &identity,
                                      const CompileLimits &limits);

/// What `compile-worker` is asked to do.
struct CompileWorkerArgs {
  std::string sourcePath, entry = "kt_gemm", identity, cacheDir, outPath;
  /// "cpu" (the host, MLIR), or cuda:sm_XX / hip:gfxNNN.
  std::string target = "cpu";
  std::string language = "mlir"; ///< GPU targets: "mlir", "cuda" or "hip".
  std::string hipFrontend = "auto";
};

/// The worker side: compiles the source in `sourcePath` for the target
/// and writes the code object (CPU: the shared object) to `outPath`.
/// Returns the process exit code.
int runCompileWorker(const CompileWorkerArgs &args);

} // namespace kt
