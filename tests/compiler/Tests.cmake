# Tests for compiler/ (see tests/CMakeLists.txt for kt_add_test).
