# Tests for base/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(HashTest base
  SOURCES base/HashTest.cpp
  LIBS ktune_runtime)
kt_add_test(StatusTest base
  SOURCES base/StatusTest.cpp
  LIBS ktune_runtime)
kt_add_test(SubprocessTest base
  SOURCES base/SubprocessTest.cpp
  LIBS ktune_runtime)
