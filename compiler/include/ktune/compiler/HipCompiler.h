// HipCompiler: HIP C++ template instances to AMDGPU code objects (HSACO) for
// gfx950 / gfx942 on a machine with no AMD GPU or ROCm: clang's device-only
// HIP compile (clang++-22, a subprocess), with the code object's metadata
// (registers, LDS, scratch, wave size) read in process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/templates/GemmTemplate.h"

#include <string>

namespace kt {

/// What the code object's AMDGPU metadata says about one kernel.
struct HipResources {
  int vgprs = 0, agprs = 0, sgprs = 0;
  int vgprSpills = 0, sgprSpills = 0;
  int ldsBytes = 0;     ///< Static LDS (group segment).
  int scratchBytes = 0; ///< Private segment: spills or stack per lane.
  int wavefrontSize = 0;
  int maxFlatWorkgroupSize = 0;
  /// Waves per SIMD the registers and LDS allow (at most 8), for a
  /// workgroup of maxFlatWorkgroupSize lanes on `arch`.
  int occupancy(const std::string &arch) const;
};

/// Reads the AMDGPU metadata note of `codeObject` for kernel `entry`.
Result<HipResources> readHipMetadata(const std::string &codeObject,
                                     const std::string &entry);

struct HipKernelBinary {
  std::string codeObject; ///< ELF, e_machine AMDGPU.
  std::string log;        ///< Compiler warnings.
  HipResources resources;
  std::string hash; ///< sha256 of the code object.
  double compileMs = 0;
  bool fromCache = false;
};

/// Thread-safety: compile() may run concurrently.
class HipCompiler {
public:
  /// `target`: hip:gfx950 or hip:gfx942. Unavailable where clang++-22 is
  /// missing.
  static Result<HipCompiler> create(TargetDesc target, std::string cacheDir);

  /// "clang-22;hip-device-only;gfx950;-O3": which path produced a binary,
  /// in every cache key and stored result.
  const std::string &fingerprint() const { return fingerprint_; }
  const TargetDesc &target() const { return target_; }

  /// Compiles HIP C++ with clang, or MLIR (a gpu.module for a ROCDL
  /// target) in process through ROCDL, the AMDGPU backend and ld.lld.
  Result<HipKernelBinary> compile(const KernelSource &src,
                                  const std::string &identity) const;
  /// LLVM IR (`-emit-llvm -S`) or GCN assembly (`-S`) of `src`.
  Result<std::string> emit(const KernelSource &src, bool llvmIr) const;
  /// llvm-objdump's disassembly of a code object for this arch.
  Result<std::string> disassemble(const std::string &codeObject) const;

private:
  HipCompiler() = default;
  std::string mlirFingerprint() const;
  Result<std::string> runClang(const KernelSource &src,
                               const std::vector<std::string> &extra,
                               std::string *log) const;
  TargetDesc target_;
  std::string cacheDir_;
  std::string fingerprint_;
};

} // namespace kt
