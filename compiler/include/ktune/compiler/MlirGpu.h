// The MLIR front end of CudaCompiler: MLIR GPU kernels to PTX through the
// NVVM lowering, in process (ktune_compiler links MLIR; ktune_nvrtc does
// not, so it takes this as a PtxFrontend).
#pragma once

#include "ktune/compiler/CudaCompiler.h"

namespace kt {

/// mlirGpuToPtx() with its fingerprint ("mlir-22.1.8;" + the NVVM pipeline
/// options).
PtxFrontend mlirPtxFrontend();

} // namespace kt
