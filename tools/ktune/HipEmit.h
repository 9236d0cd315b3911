// `ktune compile` for hip targets: the HIP C++ instance, LLVM IR, GCN
// assembly, the code object (HSACO), its resources, or its disassembly.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/compiler/HipCompiler.h"

#include <string>

namespace CLI {
class App;
}

namespace kt::cli {

/// $KTUNE_HIP_COMPILER, or "auto".
std::string defaultHipCompiler();
/// --hip-compiler auto|hiprtc|clang into `value`; any other value is a
/// usage error whatever the target.
void addHipCompilerOption(CLI::App *command, std::string &value);

/// "hip", "llvm", "asm", "hsaco", "resources" or "disasm".
Status checkHipEmit(const std::string &emit);

Result<std::string> emitHip(const HipCompiler &compiler,
                            const KernelSource &src, const std::string &emit);

} // namespace kt::cli
