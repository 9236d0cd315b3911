# Tests for tuner/ (see tests/CMakeLists.txt for kt_add_test).
