# Tests for tools/ (see tests/CMakeLists.txt for kt_add_test).
