#include "ktune/compiler/MlirGpu.h"

#include "ktune/compiler/MlirPipeline.h"

#include "llvm/Config/llvm-config.h"

namespace kt {

PtxFrontend mlirPtxFrontend() {
  PtxFrontend f;
  f.toPtx = [](const std::string &mlir, const std::string &arch) {
    return mlirGpuToPtx(mlir, arch);
  };
  f.fingerprint = std::string("mlir-") + LLVM_VERSION_STRING + ";" +
                  nvvmPipeline("<arch>", "isa");
  return f;
}

} // namespace kt
