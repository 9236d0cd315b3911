# libFuzzer targets for the parsers (configure with clang and -DKT_FUZZ=ON;
# scripts/run-tests.sh runs each briefly on the seed corpus).
foreach(name FuzzSignature FuzzResultsCsv)
  add_executable(${name} fuzz/${name}.cpp)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ktune_cache ktune_runtime)
endforeach()
