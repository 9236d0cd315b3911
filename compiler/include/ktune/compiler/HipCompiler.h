// HipCompiler: HIP C++ template instances to AMDGPU code objects (HSACO) for
// gfx950 / gfx942: hiprtc where a ROCm install new enough for the arch
// provides it, else clang's device-only HIP compile (clang++-22, a
// subprocess), which needs no AMD GPU or ROCm. The code object's metadata
// (registers, LDS, scratch, wave size) is read in process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/templates/GemmTemplate.h"

#include <string>
#include <string_view>

namespace kt {

/// Which front end compiles HIP C++. Auto: hiprtc where it can target the
/// arch, else clang.
enum class HipFrontend { Auto, Hiprtc, Clang };

/// "auto", "hiprtc" or "clang"; InvalidArgument otherwise.
Result<HipFrontend> parseHipFrontend(std::string_view text);
const char *hipFrontendName(HipFrontend f);

/// What the code object's AMDGPU metadata says about one kernel.
struct HipResources {
  /// .vgpr_count: on gfx942 / gfx950 the unified total of VGPRs and AGPRs
  /// (at most 512); .agpr_count: the AGPRs among them.
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
  /// `target`: hip:gfx950 or hip:gfx942. Unavailable, with the reason for
  /// each front end tried, where the one asked for (or, for Auto, both)
  /// cannot compile for the arch.
  static Result<HipCompiler> create(TargetDesc target, std::string cacheDir,
                                    HipFrontend frontend = HipFrontend::Auto);

  /// "hiprtc-7.0;gfx950;..." or "clang-22.1.8;hip-device-only;gfx950;...":
  /// which path produced a binary, in every cache key and stored result.
  const std::string &fingerprint() const { return fingerprint_; }
  /// The front end chosen for HIP C++ (Hiprtc or Clang, never Auto).
  HipFrontend frontend() const { return frontend_; }
  const TargetDesc &target() const { return target_; }

  /// Compiles HIP C++ with the chosen front end, or MLIR (a gpu.module for a
  /// ROCDL target) in process through ROCDL, the AMDGPU backend and ld.lld.
  Result<HipKernelBinary> compile(const KernelSource &src,
                                  const std::string &identity) const;
  /// LLVM IR or GCN assembly of `src`: for HIP C++ from clang (`-emit-llvm
  /// -S`, `-S`) whichever front end compiles (Unavailable without
  /// clang++-22); for MLIR from the same in-process ROCDL path as compile().
  Result<std::string> emit(const KernelSource &src, bool llvmIr) const;
  /// llvm-objdump's disassembly of a code object for this arch.
  Result<std::string> disassemble(const std::string &codeObject) const;
  /// Kills a clang compile still running after `seconds` (0: no limit, the
  /// default); the candidate then fails with DeadlineExceeded. hiprtc and
  /// MLIR compile in this process and are not limited.
  void setClangTimeout(double seconds) { clangTimeoutSeconds_ = seconds; }

private:
  HipCompiler() = default;
  std::string mlirFingerprint() const;
  Result<std::string> runClang(const KernelSource &src,
                               const std::vector<std::string> &extra,
                               std::string *log) const;
  TargetDesc target_;
  HipFrontend frontend_ = HipFrontend::Clang;
  std::string cacheDir_;
  std::string fingerprint_;
  double clangTimeoutSeconds_ = 0;
};

} // namespace kt
