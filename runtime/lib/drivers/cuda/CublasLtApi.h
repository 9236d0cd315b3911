// Internal: cuBLASLt's constants and the heuristic result layout, declared
// here so no CUDA header is needed to build (CudaAbiTest checks them against
// cublasLt.h where it is installed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kt::cuda {

namespace lt {
constexpr int kComputeF32 = 68;      // CUBLAS_COMPUTE_32F
constexpr int kR32F = 0;             // CUDA_R_32F
constexpr int kR16F = 2;             // CUDA_R_16F
constexpr int kR16BF = 14;           // CUDA_R_16BF
constexpr int kOpN = 0, kOpT = 1;    // CUBLAS_OP_N / _T
constexpr int kDescTransA = 3;       // CUBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 4;       // CUBLASLT_MATMUL_DESC_TRANSB
constexpr int kPrefMaxWorkspace = 1; // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
struct HeuristicResult {             // cublasLtMatmulHeuristicResult_t
  uint64_t algo[8];
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};
} // namespace lt

} // namespace kt::cuda
