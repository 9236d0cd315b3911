// How a candidate's compile is bounded: the worker process it runs in, its
// timeout and its address-space cap, and the GPU compile in such a worker.
// No compiler is linked here: the CUDA tuner (ktune_gpu_bench, without
// LLVM or MLIR) starts compile workers too.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/templates/GemmTemplate.h"

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

/// A GPU candidate compiled in `limits.worker compile-worker --target ...`
/// (MLIR through NVVM or ROCDL, HIP C++ through hiprtc or clang: compiles
/// that would otherwise run in the tuner's process without a limit),
/// killed with everything it started after the timeout. Returns the code
/// object (cubin or AMDGPU ELF). `hipFrontend` ("hiprtc" or "clang") is
/// the HIP C++ front end the tuner chose; ignored for CUDA. `limits.worker`
/// must not be empty.
Result<std::string>
compileGpuLimited(const TargetDesc &target, const std::string &hipFrontend,
                  const std::string &cacheDir, const KernelSource &src,
                  const std::string &identity, const CompileLimits &limits);

} // namespace kt
