// The driver symbol table declares cuda.h's structs and constants itself (so
// ktune builds without CUDA). Where cuda.h exists, this checks at compile
// time that every declaration matches it: a mismatch would corrupt launches
// only on a GPU, where it is hardest to see.
#include "drivers/cuda/CublasLtApi.h"
#include "drivers/cuda/CudaApi.h"

#include "ktune/drivers/cuda/CudaContext.h"

#include <cublasLt.h>
#include <cuda.h>

#include <catch2/catch.hpp>

#include <cstddef>

namespace kc = kt::cuda;

static_assert(sizeof(kc::LaunchAttribute) == sizeof(CUlaunchAttribute));
static_assert(offsetof(kc::LaunchAttribute, value) ==
              offsetof(CUlaunchAttribute, value));
static_assert(sizeof(kc::LaunchConfigEx) == sizeof(CUlaunchConfig));
static_assert(offsetof(kc::LaunchConfigEx, sharedMemBytes) ==
              offsetof(CUlaunchConfig, sharedMemBytes));
static_assert(offsetof(kc::LaunchConfigEx, hStream) ==
              offsetof(CUlaunchConfig, hStream));
static_assert(offsetof(kc::LaunchConfigEx, attrs) ==
              offsetof(CUlaunchConfig, attrs));
static_assert(offsetof(kc::LaunchConfigEx, numAttrs) ==
              offsetof(CUlaunchConfig, numAttrs));
static_assert(kc::kLaunchAttributeClusterDimension ==
              CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);
static_assert(kc::kFuncAttributeNumRegs == CU_FUNC_ATTRIBUTE_NUM_REGS);
static_assert(kc::kFuncAttributeMaxDynamicSharedBytes ==
              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
static_assert(sizeof(kc::TensorMap) == sizeof(CUtensorMap));
static_assert(alignof(kc::TensorMap) >= alignof(CUtensorMap));
static_assert(int(kc::kMultiprocessorCount) ==
              CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
static_assert(int(kc::kL2CacheSize) == CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
static_assert(int(kc::kMaxSharedMemoryPerBlockOptin) ==
              CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
static_assert(int(kc::kMaxSharedMemoryPerMultiprocessor) ==
              CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
static_assert(int(kc::kComputeCapabilityMajor) ==
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
static_assert(int(kc::kComputeCapabilityMinor) ==
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
static_assert(int(kc::kClockRate) == CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
static_assert(int(kc::kMemoryClockRate) ==
              CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
static_assert(int(kc::kGlobalMemoryBusWidth) ==
              CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
// The values Context::encodeTensorMap passes.
static_assert(CU_TENSOR_MAP_DATA_TYPE_FLOAT16 == 6 &&
              CU_TENSOR_MAP_DATA_TYPE_FLOAT32 == 7 &&
              CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 == 9);
static_assert(CU_TENSOR_MAP_SWIZZLE_NONE == 0 &&
              CU_TENSOR_MAP_SWIZZLE_32B == 1 &&
              CU_TENSOR_MAP_SWIZZLE_64B == 2 &&
              CU_TENSOR_MAP_SWIZZLE_128B == 3);
static_assert(CU_TENSOR_MAP_L2_PROMOTION_L2_256B == 3);
static_assert(CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE == 0);

// cuBLASLt.
static_assert(kc::lt::kComputeF32 == CUBLAS_COMPUTE_32F);
static_assert(kc::lt::kR32F == CUDA_R_32F && kc::lt::kR16F == CUDA_R_16F &&
              kc::lt::kR16BF == CUDA_R_16BF);
static_assert(kc::lt::kOpN == CUBLAS_OP_N && kc::lt::kOpT == CUBLAS_OP_T);
static_assert(kc::lt::kDescTransA == CUBLASLT_MATMUL_DESC_TRANSA &&
              kc::lt::kDescTransB == CUBLASLT_MATMUL_DESC_TRANSB);
static_assert(kc::lt::kPrefMaxWorkspace ==
              CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
static_assert(sizeof(kc::lt::HeuristicResult) ==
              sizeof(cublasLtMatmulHeuristicResult_t));
static_assert(offsetof(kc::lt::HeuristicResult, workspaceSize) ==
              offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize));
static_assert(offsetof(kc::lt::HeuristicResult, state) ==
              offsetof(cublasLtMatmulHeuristicResult_t, state));

TEST_CASE("the driver declarations match cuda.h (checked at compile time)") {
  SUCCEED("static_asserts above");
}
