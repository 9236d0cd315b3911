// cuda.gemm.mlir on a real sm_90a GPU against a host reference
// (tests/support/GpuGemmCheck.h). Skipped (and reported so) without one.
#include "ktune/templates/gemm/CudaGemmMlir.h"
#include "support/GpuGemmCheck.h"
#include "support/MlirCudaCompiler.h"

using namespace kt;

TEST_CASE("MLIR GEMM kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = test::mlirCompiler("cuda:sm_90a");
  REQUIRE(compiler.has_value());
  for (bool outF32 : {false, true}) {
    test::runFamilyOnGpu(CudaGemmMlir(), *compiler, *gpu, test::gpuGemmCases(),
                         {test::mlirCfg(128, 128, 64, 32, 32),
                          test::mlirCfg(32, 128, 32, 32, 64),
                          test::mlirCfg(64, 64, 16, 64, 16)},
                         outF32);
  }
}
