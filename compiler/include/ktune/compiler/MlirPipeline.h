// The MLIR half of the CPU path: parse, schedule, lower to the LLVM
// dialect, translate to LLVM IR. Internal to compiler/.
#pragma once

#include "ktune/base/Status.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace kt {

/// Version string of the lowering pipeline; part of the fingerprint.
const char *mlirPipelineVersion();

/// Parses `text`, applies its transform schedule, erases the schedule.
/// Returns the scheduled module printed as text (for --emit).
Result<std::string> scheduleMlir(const std::string &text);
/// Schedules and lowers to the LLVM dialect; returns printed text.
Result<std::string> lowerMlirToLlvmDialect(const std::string &text);
/// The whole MLIR path to an LLVM module in `ctx`.
Result<std::unique_ptr<llvm::Module>> mlirToLlvmIr(const std::string &text,
                                                   llvm::LLVMContext &ctx);

/// The GPU path: parses a module holding a gpu.module for an NVVM target,
/// lowers it with MLIR's NVVM pipeline (bare-pointer kernel arguments) and
/// returns the PTX the NVPTX backend produced, in process. `arch`:
/// "sm_90a", "sm_100a".
Result<std::string> mlirGpuToPtx(const std::string &text,
                                 const std::string &arch);
/// The AMD path: parses a module holding a gpu.module for a ROCDL target,
/// lowers it to ROCDL (bare-pointer kernel arguments), and links the LLVM
/// AMDGPU backend's object with ld.lld into a code object (HSACO), in
/// process. `arch`: "gfx950", "gfx942".
Result<std::string> mlirGpuToHsaco(const std::string &text,
                                   const std::string &arch);
/// The same path's text for --emit: the optimised LLVM IR the AMDGPU backend
/// reads (`llvmIr`), or the backend's assembly.
Result<std::string> mlirGpuToAmdgpuText(const std::string &text,
                                        const std::string &arch, bool llvmIr);
/// The ROCDL lowering's passes for `arch` (part of the fingerprint).
std::string rocdlPipeline(const std::string &arch);

/// The NVVM pipeline's options for `arch` (part of the fingerprint).
std::string nvvmPipeline(const std::string &arch, const char *format);

/// Registers the project's passes and pipelines (kt-opt uses this):
/// "kt-strip-transform" and the pipeline "kt-cpu-lower".
void registerKtPasses();

} // namespace kt
