# Tests for tuner/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(tuner_tests tuner
  SOURCES tuner/CompileWorkerTest.cpp
  LIBS ktune_tuner)
target_compile_definitions(tuner_tests PRIVATE
  KT_KTUNE_EXE="$<TARGET_FILE:ktune>")
add_dependencies(tuner_tests ktune)
