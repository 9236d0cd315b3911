# Tests for templates/.
kt_add_test(templates_tests templates
  SOURCES templates/CpuGemmSpaceTest.cpp templates/CpuGemmDotSpaceTest.cpp
    templates/CudaGemmSm90SpaceTest.cpp templates/CudaGemmSm100SpaceTest.cpp
    templates/CudaGemmMlirSpaceTest.cpp templates/HipGemmMfmaSpaceTest.cpp
    templates/AttentionScratchTest.cpp
  LIBS ktune_templates ktune_runtime)
