# Tests for problem/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(problem_tests problem
  SOURCES problem/GemmProblemTest.cpp problem/ConfigTest.cpp
          problem/ProblemsFileTest.cpp
  LIBS ktune_runtime)
