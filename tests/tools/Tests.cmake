# Tests for tools/ (see tests/CMakeLists.txt for kt_add_test).
add_test(NAME tools_end_to_end
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/EndToEnd.sh
    $<TARGET_FILE:ktune> $<TARGET_FILE:kt-gemm-run>
    ${CMAKE_CURRENT_BINARY_DIR}/end_to_end)
set_tests_properties(tools_end_to_end PROPERTIES LABELS tools TIMEOUT 900)
