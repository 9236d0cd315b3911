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

/// Registers the project's passes and pipelines (kt-opt uses this):
/// "kt-strip-transform" and the pipeline "kt-cpu-lower".
void registerKtPasses();

} // namespace kt
