# Tests for tools/ (see tests/CMakeLists.txt for kt_add_test).
add_test(NAME tools_end_to_end
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/EndToEnd.sh
    $<TARGET_FILE:ktune> $<TARGET_FILE:kt-gemm-run>
    ${CMAKE_CURRENT_BINARY_DIR}/end_to_end)
set_tests_properties(tools_end_to_end PROPERTIES LABELS tools TIMEOUT 900)

add_test(NAME tools_kill_resume
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/KillResume.sh
    $<TARGET_FILE:ktune> ${CMAKE_CURRENT_BINARY_DIR}/kill_resume)
set_tests_properties(tools_kill_resume PROPERTIES LABELS tools TIMEOUT 900)

add_test(NAME tools_example_block
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/ExampleBlock.sh
    $<TARGET_FILE:ktune> $<TARGET_FILE:kt-transformer-block>
    ${CMAKE_CURRENT_BINARY_DIR}/example_block)
set_tests_properties(tools_example_block PROPERTIES LABELS tools TIMEOUT 900)

# The SDPA script's ctypes bindings: Python loads libkt.so, which a
# sanitizer build could only load with its runtime preloaded; the Release
# build covers it.
if(NOT KT_SANITIZE AND NOT KT_SANITIZE_THREAD)
  add_test(NAME tools_sdpa_bindings
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tools/SdpaBindings.sh
      $<TARGET_FILE:ktune> $<TARGET_FILE:kt>
      ${PROJECT_SOURCE_DIR}/benchmarks/attention_sdpa.py
      ${CMAKE_CURRENT_BINARY_DIR}/sdpa_bindings)
  set_tests_properties(tools_sdpa_bindings PROPERTIES LABELS tools
    TIMEOUT 300
    ENVIRONMENT "KTUNE_CACHE_DIR=${PROJECT_BINARY_DIR}/tools-kernel-cache")
endif()
