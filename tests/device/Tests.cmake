# Tests for device/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(TargetDescTest device
  SOURCES device/TargetDescTest.cpp
  LIBS ktune_runtime)
kt_add_test(HostInfoTest device
  SOURCES device/HostInfoTest.cpp
  LIBS ktune_runtime)
kt_add_test(GemmLaunchSpecTest device
  SOURCES device/GemmLaunchSpecTest.cpp device/HipGemmLaunchSpecTest.cpp
  LIBS ktune_runtime)
kt_add_test(ThreadPoolTest device
  SOURCES device/ThreadPoolTest.cpp device/ThreadStackTest.cpp
  LIBS ktune_runtime)

# A real shared object, built with the project, for loadModule() to load.
add_library(kt_test_kernel SHARED device/TestKernel.c)
kt_add_test(CpuDeviceTest device
  SOURCES device/CpuDeviceTest.cpp
  LIBS ktune_runtime)
target_compile_definitions(CpuDeviceTest PRIVATE
  KT_TEST_KERNEL_PATH="$<TARGET_FILE:kt_test_kernel>")
add_dependencies(CpuDeviceTest kt_test_kernel)

# The HIP runtime (dlopen): its absence is tested everywhere.
kt_add_test(HipDriverTest device
  SOURCES device/HipDriverTest.cpp
  LIBS ktune_runtime)

# The CUDA driver (dlopen): real on a GPU machine, skipped elsewhere.
kt_add_test(CudaDriverTest cuda
  SOURCES device/CudaDriverTest.cpp
  LIBS ktune_runtime)

# The driver table's hand-written declarations against the toolkit's cuda.h,
# where one is installed (compile-time checks; no GPU needed).
find_path(KT_CUDA_INCLUDE cuda.h PATHS /usr/local/cuda/include NO_DEFAULT_PATH)
if(KT_CUDA_INCLUDE)
  kt_add_test(CudaAbiTest device
    SOURCES device/CudaAbiTest.cpp
    LIBS ktune_runtime)
  target_include_directories(CudaAbiTest PRIVATE
    ${PROJECT_SOURCE_DIR}/runtime/lib ${KT_CUDA_INCLUDE})
else()
  message(STATUS "cuda.h not found: CudaAbiTest not built")
endif()

# hip::Context and hipBLASLt on an AMD GPU; skipped visibly without one.
kt_add_test(HipContextTest hip
  SOURCES device/HipContextTest.cpp
  LIBS ktune_runtime)
kt_add_test(HipBlasLtTest hip
  SOURCES device/HipBlasLtTest.cpp
  LIBS ktune_runtime)
# A kernel compiled by HipCompiler for the device's arch and launched (the
# compile runs everywhere clang-22 is; the launch needs the GPU).
kt_add_test(HipLaunchTest hip
  SOURCES device/HipLaunchTest.cpp
  LIBS ktune_compiler)
# The pool's workers under a small `ulimit -s` (new threads default to it).
add_test(NAME ThreadPoolSmallStack
  COMMAND sh -c "ulimit -s 1024 && exec \"$0\" '[stack]'"
    $<TARGET_FILE:ThreadPoolTest>)
