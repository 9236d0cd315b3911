// Compiling a candidate in a separate process, so a compile that hangs or
// eats all memory (an MLIR pattern set that does not converge, say) costs one
// candidate, not the tuning run.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/compiler/CpuCompiler.h"

#include <cstdint>
#include <string>

namespace kt {

struct CompileLimits {
  /// Executable that implements `compile-worker` (the ktune CLI). Empty:
  /// compile in process, without limits.
  std::string worker;
  double timeoutSeconds = 300;
  int64_t memoryBytes = int64_t(8) << 30; ///< Address-space cap of the worker.
};

/// Compiles `src` with `compiler`'s target and cache folder: in process when
/// `limits.worker` is empty, else in `worker compile-worker ...`, killed after
/// the timeout. Failures name the cause (timeout, memory, compile error).
Result<CompiledKernel> compileLimited(const CpuCompiler &compiler,
                                      const KernelSource &src,
                                      const std::string &identity,
                                      const CompileLimits &limits);

/// The worker side: compiles the MLIR in `sourcePath` for the host and writes
/// the shared object to `outPath`. Returns the process exit code.
int runCompileWorker(const std::string &sourcePath, const std::string &entry,
                     const std::string &identity, const std::string &cacheDir,
                     const std::string &outPath);

} // namespace kt
