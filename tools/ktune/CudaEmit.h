// `ktune compile` for cuda targets: the instance's source (CUDA C++ or
// MLIR), its PTX, the cubin, ptxas' resource report, or SASS (where a
// disassembler exists).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/compiler/CudaCompiler.h"

#include <string>

namespace kt::cli {

/// "cuda" / "mlir" (the source), "ptx", "cubin", "resources" or "sass";
/// InvalidArgument otherwise.
Status checkCudaEmit(const std::string &emit);

/// The requested form of `src` compiled by `compiler`. "cubin" returns the
/// ELF bytes; the caller writes them to a file.
Result<std::string> emitCuda(const CudaCompiler &compiler,
                             const KernelSource &src, const std::string &emit);

} // namespace kt::cli
