# Tests for lookup/ (see tests/CMakeLists.txt for kt_add_test).

# kt.h must be plain C: a strict C11 program exercises the error paths.
add_executable(CApiTest lookup/CApiTest.c)
set_source_files_properties(lookup/CApiTest.c PROPERTIES LANGUAGE C)
set_target_properties(CApiTest PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(CApiTest PRIVATE -pedantic-errors)
target_link_libraries(CApiTest PRIVATE ktune_lookup)
add_test(NAME CApiTest COMMAND CApiTest)
set_tests_properties(CApiTest PROPERTIES LABELS lookup)
# The same program against libkt.so: the shared library exports the API.
add_executable(CApiTestShared lookup/CApiTest.c)
set_source_files_properties(lookup/CApiTest.c PROPERTIES LANGUAGE C)
set_target_properties(CApiTestShared PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(CApiTestShared PRIVATE -pedantic-errors)
target_include_directories(CApiTestShared PRIVATE
  ${PROJECT_SOURCE_DIR}/runtime/include)
target_link_libraries(CApiTestShared PRIVATE kt)
add_test(NAME CApiTestShared COMMAND CApiTestShared)
set_tests_properties(CApiTestShared PROPERTIES LABELS lookup)

# A hand-written GEMM code object that LookupTest stores in a results file,
# so lookups load and launch a real kernel without the compiler.
add_library(kt_test_gemm_kernel SHARED lookup/TestGemmKernel.c)
kt_add_test(LookupTest lookup
  SOURCES lookup/LookupTest.cpp lookup/MissesTest.cpp
          lookup/LookupIndexTest.cpp lookup/JitTest.cpp
  LIBS ktune_lookup)
target_compile_definitions(LookupTest PRIVATE
  KT_TEST_GEMM_KERNEL_PATH="$<TARGET_FILE:kt_test_gemm_kernel>")
target_include_directories(LookupTest PRIVATE
  ${PROJECT_SOURCE_DIR}/runtime/lib/lookup)
add_dependencies(LookupTest kt_test_gemm_kernel)

# kt.h on a CUDA GPU with NVRTC-compiled sm_90a cubins (skipped without one).
# Links no LLVM, so it travels to GPU machines with the worker.
kt_add_test(cuda_lookup_tests cuda
  SOURCES lookup/CudaLookupTest.cpp lookup/CudaAttentionLookupTest.cpp
  LIBS ktune_lookup ktune_nvrtc)

# kt.h on an AMD GPU with code objects compiled for its arch (skipped without
# one).
kt_add_test(hip_lookup_tests hip
  SOURCES lookup/HipLookupTest.cpp lookup/HipAttentionLookupTest.cpp
  LIBS ktune_lookup ktune_compiler)
