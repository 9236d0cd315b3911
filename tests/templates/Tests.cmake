# Tests for templates/ (see tests/CMakeLists.txt for kt_add_test).
