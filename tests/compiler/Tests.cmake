# Tests for compiler/ (the real MLIR pipeline; no mocks).
kt_add_test(compiler_tests compiler
  SOURCES compiler/CpuCompileRunTest.cpp compiler/CpuAttentionTest.cpp
  LIBS ktune_tuner)
# NVRTC (dlopen): compiles for sm_90a / sm_100a without a GPU; skipped where
# the CUDA toolkit is absent.
kt_add_test(nvrtc_tests cuda
  SOURCES compiler/NvrtcTest.cpp compiler/CubinInfoTest.cpp
    compiler/CudaGemmSm90CompileTest.cpp
    compiler/CudaGemmSm100CompileTest.cpp
    compiler/CudaAttentionSm90CompileTest.cpp
    compiler/CudaAttentionSm100CompileTest.cpp
  LIBS ktune_nvrtc)
# NVRTC -> driver -> launch on a real GPU; skipped without one.
kt_add_test(cuda_run_tests cuda
  SOURCES compiler/CudaRunTest.cpp compiler/CudaGemmRunTest.cpp
    compiler/CudaAttentionRunTest.cpp
  LIBS ktune_nvrtc)
# cuda.gemm.mlir: MLIR -> NVVM -> PTX -> nvJitLink cubins without a GPU, and
# on an sm_90 GPU against a host reference (skipped without the toolkit).
kt_add_test(cuda_mlir_tests cuda
  SOURCES compiler/CudaGemmMlirTest.cpp compiler/CudaAttentionMlirTest.cpp
  LIBS ktune_compiler)
kt_add_test(cuda_mlir_run_tests cuda
  SOURCES compiler/CudaGemmMlirRunTest.cpp
    compiler/CudaAttentionMlirRunTest.cpp
  LIBS ktune_compiler)
# hip.gemm.mfma: HIP C++ -> AMDGPU code objects for gfx950 / gfx942 with
# clang-22, disassembly and metadata checks; no AMD GPU is involved.
kt_add_test(hip_compile_tests hip
  SOURCES compiler/HipCompileTest.cpp compiler/HipAttentionCompileTest.cpp
    compiler/HipFrontendTest.cpp
  LIBS ktune_compiler)
# hiprtc itself, where a ROCm install provides it (skipped elsewhere).
kt_add_test(HiprtcCompileTest hip
  SOURCES compiler/HiprtcCompileTest.cpp
  LIBS ktune_compiler)
# hip.gemm.mfma and hip.attention.mfma executed on the host CPU: the kernel
# text compiled by clang++-22 as host C++ with a shim for the AMDGPU
# builtins, run under an emulation of wave64 and the MFMA instructions
# against host references; the tuner's AMD reference kernels too. Runs
# wherever clang-22 is (no GPU, no skip).
kt_add_test(hip_emulation_tests hip
  SOURCES compiler/HipEmulation.cpp compiler/HipEmulationGemmTest.cpp
    compiler/HipEmulationAttentionTest.cpp
    compiler/HipEmulationReferenceTest.cpp
  LIBS ktune_templates ktune_gpu_bench fmt::fmt)
target_compile_definitions(hip_emulation_tests PRIVATE
  KT_CLANG_PATH="${KT_CLANG}")
