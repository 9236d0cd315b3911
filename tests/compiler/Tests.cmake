# Tests for compiler/ (the real MLIR pipeline; no mocks).
kt_add_test(compiler_tests compiler
  SOURCES compiler/CpuCompileRunTest.cpp
  LIBS ktune_tuner)
