# Tests for cache/ (see tests/CMakeLists.txt for kt_add_test).
kt_add_test(cache_tests cache
  SOURCES cache/TuningRecordTest.cpp cache/SqliteStoreTest.cpp
          cache/CsvFormatsTest.cpp cache/MergeTest.cpp
  LIBS ktune_cache SQLite::SQLite3)
