// CpuCompiler: MLIR template instance -> host shared object, in process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/templates/GemmTemplate.h"

#include <memory>
#include <string>

namespace kt {

/// What `emit()` prints: the specialised input, the IR after the transform
/// schedule ran, the LLVM dialect, LLVM IR, or host assembly.
enum class EmitStage { Mlir, Scheduled, LlvmDialect, LlvmIr, Asm };

Result<EmitStage> parseEmitStage(const std::string &s);

struct CompiledKernel {
  std::string bytes; ///< ELF shared object (CpuGemmAbi.h symbols).
  std::string hash;  ///< sha256 of bytes.
  double compileMs = 0;
  bool fromCache = false;
};

/// Thread-safety: compile() and emit() may run concurrently; each call owns
/// its MLIR and LLVM contexts. The binary cache is shared through the file
/// system with atomic renames, so several processes may share it too.
class CpuCompiler {
public:
  /// `cacheDir` empty disables the on-disk cache.
  CpuCompiler(TargetDesc target, std::string cacheDir);

  /// "mlir-22.1.8;llvm-cpu=<name>;features=...;lld=...;pipeline=N": enters
  /// every cache key and every stored result.
  const std::string &fingerprint() const { return fingerprint_; }
  const TargetDesc &target() const { return target_; }
  /// The on-disk binary cache folder ("" when disabled).
  const std::string &cacheDir() const { return cacheDir_; }

  /// Compiles `src`; `identity` (template hash + params + problem) is folded
  /// into the cache key with the source text and the fingerprint.
  Result<CompiledKernel> compile(const KernelSource &src,
                                 const std::string &identity) const;
  /// Runs the pipeline up to `stage` and returns its text.
  Result<std::string> emit(const KernelSource &src, EmitStage stage) const;

  /// The default cache folder: $KTUNE_CACHE_DIR, else
  /// $XDG_CACHE_HOME/ktune/kernels, else ~/.cache/ktune/kernels.
  static std::string defaultCacheDir();

private:
  TargetDesc target_;
  std::string cacheDir_;
  std::string fingerprint_;
};

} // namespace kt
