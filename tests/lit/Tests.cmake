# lit/FileCheck tests of kt-opt and the generated schedules (LLVM 22's lit
# and FileCheck from llvm-22-tools).
find_program(KT_LIT lit HINTS /usr/lib/llvm-22/bin NO_DEFAULT_PATH)
find_program(KT_FILECHECK FileCheck HINTS /usr/lib/llvm-22/bin NO_DEFAULT_PATH)
if(NOT KT_LIT OR NOT KT_FILECHECK)
  message(FATAL_ERROR "lit and FileCheck not found in /usr/lib/llvm-22/bin; "
                      "install llvm-22-tools (scripts/install-deps.sh)")
endif()
add_test(NAME lit_tests
  COMMAND ${KT_LIT} -sv ${CMAKE_CURRENT_SOURCE_DIR}/lit
    --param kt_opt=$<TARGET_FILE:kt-opt>
    --param ktune=$<TARGET_FILE:ktune>
    --param filecheck=${KT_FILECHECK}
    --param exec_root=${CMAKE_CURRENT_BINARY_DIR}/lit)
set_tests_properties(lit_tests PROPERTIES LABELS lit)
