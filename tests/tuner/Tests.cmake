# Tests for tuner/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(tuner_tests tuner
  SOURCES tuner/CompileWorkerTest.cpp tuner/GpuWorkerStartTest.cpp
          tuner/GpuWorkerProtocolTest.cpp
          tuner/AttentionTuneTest.cpp
  LIBS ktune_tuner ktune_lookup)
target_compile_definitions(tuner_tests PRIVATE
  KT_KTUNE_EXE="$<TARGET_FILE:ktune>"
  KT_CUDA_WORKER_EXE="$<TARGET_FILE:ktune-cuda-worker>"
  KT_HIP_WORKER_EXE="$<TARGET_FILE:ktune-hip-worker>")
add_dependencies(tuner_tests ktune ktune-cuda-worker ktune-hip-worker)

# CUDA candidates in worker processes on a GPU: faults, hangs and tuning
# (skipped without one).
kt_add_test(cuda_worker_tests cuda
  SOURCES tuner/CudaWorkerTest.cpp
  LIBS ktune_gpu_bench)
target_include_directories(cuda_worker_tests PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(cuda_worker_tests PRIVATE
  KT_CUDA_WORKER_EXE="$<TARGET_FILE:ktune-cuda-worker>")
add_dependencies(cuda_worker_tests ktune-cuda-worker)
