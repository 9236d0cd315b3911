# Tests for device/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(TargetDescTest device
  SOURCES device/TargetDescTest.cpp
  LIBS ktune_runtime)
kt_add_test(HostInfoTest device
  SOURCES device/HostInfoTest.cpp
  LIBS ktune_runtime)
kt_add_test(ThreadPoolTest device
  SOURCES device/ThreadPoolTest.cpp
  LIBS ktune_runtime)

# A real shared object, built with the project, for loadModule() to load.
add_library(kt_test_kernel SHARED device/TestKernel.c)
kt_add_test(CpuDeviceTest device
  SOURCES device/CpuDeviceTest.cpp
  LIBS ktune_runtime)
target_compile_definitions(CpuDeviceTest PRIVATE
  KT_TEST_KERNEL_PATH="$<TARGET_FILE:kt_test_kernel>")
add_dependencies(CpuDeviceTest kt_test_kernel)

# The CUDA driver (dlopen): real on a GPU machine, skipped elsewhere.
kt_add_test(CudaDriverTest cuda
  SOURCES device/CudaDriverTest.cpp
  LIBS ktune_runtime)
