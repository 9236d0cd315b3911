// Helpers shared by the cache tests: temporary directories and records.
#pragma once

#include "ktune/cache/TuningRecord.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

namespace kt::test {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("ktune-cache-test-" + std::to_string(rd()) + "-" +
            std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string &name) const {
    return (path / name).string();
  }
};

inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// An "ok" record for a GEMM problem with the given template params.
inline TuningRecord makeRecord(const std::string &key,
                               const std::string &params, double timeMs) {
  TuningRecord r;
  r.problemKey = key;
  r.target = "cpu";
  r.templateName = "cpu.gemm.mlir";
  r.templateHash = "abc123";
  r.params = params;
  r.timeMs = timeMs;
  r.dispersion = 0.01;
  r.warmMs = timeMs * 0.9;
  r.iterations = 100;
  r.maxError = 1e-7;
  r.deviceModel = "Test CPU 9000";
  r.deviceFeatures = "avx2,fma";
  r.compilerFingerprint = "mlir-22";
  r.binaryHash = "deadbeef";
  r.createdUnix = 1700000000;
  return r;
}

inline bool sameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

/// Requires every field of `a` and `b` to be equal (NaN equals NaN).
inline void requireSameRecord(const TuningRecord &a, const TuningRecord &b) {
  CHECK(a.problemKey == b.problemKey);
  CHECK(a.op == b.op);
  CHECK(a.target == b.target);
  CHECK(a.templateName == b.templateName);
  CHECK(a.templateHash == b.templateHash);
  CHECK(a.params == b.params);
  CHECK(a.status == b.status);
  CHECK(a.message == b.message);
  CHECK(sameDouble(a.timeMs, b.timeMs));
  CHECK(sameDouble(a.dispersion, b.dispersion));
  CHECK(sameDouble(a.warmMs, b.warmMs));
  CHECK(a.iterations == b.iterations);
  CHECK(sameDouble(a.maxError, b.maxError));
  CHECK(a.deviceModel == b.deviceModel);
  CHECK(a.deviceFeatures == b.deviceFeatures);
  CHECK(a.compilerFingerprint == b.compilerFingerprint);
  CHECK(a.binaryHash == b.binaryHash);
  CHECK(a.createdUnix == b.createdUnix);
  CHECK(a.launch == b.launch);
}

} // namespace kt::test
