// CudaCompiler: CUDA C++ template instance -> cubin through NVRTC, with the
// resource usage ptxas reports and a content-addressed cache in front. Links
// no LLVM (library ktune_nvrtc).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/templates/GemmTemplate.h"

#include <functional>
#include <string>
#include <vector>

namespace kt {

/// One kernel's resources. Registers and the stack frame come from the cubin
/// (readCubinResources), always; spills, static shared memory and the notes
/// come from ptxas' verbose report in the compiler log, when it has one
/// (`reported`): NVRTC has been seen to return an empty log for a kernel it
/// compiled correctly.
struct CudaResources {
  int registers = 0;     ///< Per thread.
  int stackBytes = 0;    ///< Stack frame per thread.
  bool reported = false; ///< ptxas' report was found: the fields below hold.
  int spillStoreBytes = 0;
  int spillLoadBytes = 0;
  int staticSharedBytes = 0; ///< Static shared memory (dynamic excluded).
  /// Compiler warnings about the kernel and ptxas notes that the
  /// tensor-core pipeline stalls ("wgmma.mma_async instructions are
  /// serialized ...", "warpgroup.wait is injected ...").
  std::vector<std::string> warnings;
};

/// The SASS of a cubin from nvdisasm (found on PATH or in
/// /usr/local/cuda/bin); Unavailable, saying so, where there is none.
Result<std::string> disassembleCubin(const std::string &cubin);

/// Registers and stack frame of kernel `entry` from the cubin's own records
/// (.nv.info); NotFound if it has no such kernel, InvalidArgument if the bytes
/// are no readable ELF64 cubin.
Result<CudaResources> readCubinResources(const std::string &cubin,
                                         const std::string &entry);

/// Parses ptxas' verbose report for `entry`; NotFound if the log has none.
Result<CudaResources> parsePtxasReport(const std::string &log,
                                       const std::string &entry);

struct CudaKernelBinary {
  std::string cubin;
  std::string ptx;
  std::string log;
  CudaResources resources;
  std::string hash; ///< sha256 of the cubin.
  double compileMs = 0;
  bool fromCache = false;
};

/// Turns an MLIR kernel source into PTX for an arch ("sm_90a"), and names
/// itself for cache keys. Provided by ktune_compiler (MlirGpu.h), which
/// links MLIR; this library does not.
struct PtxFrontend {
  std::function<Result<std::string>(const std::string &mlir,
                                    const std::string &arch)>
      toPtx;
  std::string fingerprint;
};

/// Thread-safety: compile() may run concurrently.
class CudaCompiler {
public:
  /// `target` must be a cuda target ("cuda:sm_90a", "cuda:sm_100a");
  /// `cacheDir` empty disables the on-disk cache. Unavailable where NVRTC
  /// is absent. Without `mlir`, MLIR sources are refused (the GPU worker
  /// links no MLIR; ktune compiles them).
  static Result<CudaCompiler> create(TargetDesc target, std::string cacheDir,
                                     PtxFrontend mlir = {});

  /// "nvrtc-13.0;arch=sm_90a;flags=...": enters every cache key and every
  /// stored result.
  const std::string &fingerprint() const { return fingerprint_; }
  const TargetDesc &target() const { return target_; }

  /// Compiles `src`: language "cuda" with NVRTC, "mlir" with the PTX
  /// frontend then nvJitLink. A compile error is InvalidArgument with the
  /// compiler's log; `identity` (template hash + params + problem) is folded
  /// into the cache key with the source and the fingerprint.
  Result<CudaKernelBinary> compile(const KernelSource &src,
                                   const std::string &identity) const;

  /// The NVRTC options every compile uses (besides the architecture).
  static std::vector<std::string> options();

private:
  CudaCompiler() = default;
  Result<CudaKernelBinary> compileMlir(const KernelSource &src) const;

  TargetDesc target_;
  std::string cacheDir_;
  std::string fingerprint_;
  PtxFrontend mlir_;
};

} // namespace kt
