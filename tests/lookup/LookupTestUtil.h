// Helpers shared by the lookup tests: a results file holding a real GEMM
// code object (tests/lookup/TestGemmKernel.c), contexts and a reference.
#pragma once

#include "kt/kt.h"
#include "ktune/base/Hash.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/device/HostInfo.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/problem/GemmProblem.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#ifndef KT_TEST_GEMM_KERNEL_PATH
#error "KT_TEST_GEMM_KERNEL_PATH must name the test GEMM shared object"
#endif

namespace kt::lookuptest {

namespace fs = std::filesystem;

// The problem TestGemmKernel.c computes: f32 NN 33x20x17, packed.
constexpr int64_t kM = 33;
constexpr int64_t kN = 20;
constexpr int64_t kK = 17;
inline constexpr const char *kOtherModel = "Imaginary CPU 9000 @ 1.00GHz";

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

/// A fresh temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("ktune-lookup-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string &name) const {
    return (path_ / name).string();
  }

private:
  fs::path path_;
};

inline kt::GemmProblem gemmProblem(int64_t m, int64_t n, int64_t k) {
  kt::GemmProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.setDefaultLeadingDims();
  return p;
}

inline kt_gemm_desc gemmDesc(int64_t m, int64_t n, int64_t k) {
  kt_gemm_desc desc;
  kt_gemm_desc_init(&desc);
  desc.m = m;
  desc.n = n;
  desc.k = k;
  return desc;
}

inline std::string hostFeatures() {
  std::string out;
  for (const std::string &f : kt::TargetDesc::host().features) {
    out += out.empty() ? f : "," + f;
  }
  return out;
}

/// A winning record for `problem` as the tuner stores it on this machine.
inline kt::TuningRecord hostRecord(const kt::GemmProblem &problem,
                                   const std::string &binaryHash) {
  kt::TuningRecord r;
  r.problemKey = problem.key();
  r.target = "cpu";
  r.templateName = "test.c";
  r.params = "x=1";
  r.status = "ok";
  r.timeMs = 0.25;
  r.iterations = 10;
  r.deviceModel = kt::hostInfo().cpuModel;
  r.deviceFeatures = hostFeatures();
  r.binaryHash = binaryHash;
  return r;
}

/// Writes a results file holding the test kernel as the winner for 33x20x17,
/// plus records that must not be used on this machine:
///   64x64x64: recorded on another CPU model;
///   48x48x48: recorded with other CPU features;
///   40x40x40: its code object is not in the file;
///   24x24x24: no code object was kept.
inline void writeResults(const std::string &path) {
  auto store = kt::openSqliteStore(path, /*readOnly=*/false);
  REQUIRE(store.isOk());
  std::string bytes = readFile(KT_TEST_GEMM_KERNEL_PATH);
  REQUIRE(bytes.size() > 4);
  std::string hash = kt::sha256Hex(bytes);
  REQUIRE((*store)->putBinary(hash, "cpu", bytes).isOk());
  REQUIRE((*store)->put(hostRecord(gemmProblem(kM, kN, kK), hash)).isOk());

  kt::TuningRecord otherModel = hostRecord(gemmProblem(64, 64, 64), hash);
  otherModel.deviceModel = kOtherModel;
  REQUIRE((*store)->put(otherModel).isOk());
  kt::TuningRecord otherFeatures = hostRecord(gemmProblem(48, 48, 48), hash);
  otherFeatures.deviceFeatures = "avx9000";
  REQUIRE((*store)->put(otherFeatures).isOk());
  REQUIRE((*store)
              ->put(hostRecord(gemmProblem(40, 40, 40), std::string(64, 'a')))
              .isOk());
  REQUIRE((*store)->put(hostRecord(gemmProblem(24, 24, 24), "")).isOk());
}

inline kt_context *openContext(const std::string &path, int checkValidators = 1,
                               int threads = 0) {
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = path.c_str();
  opts.check_validators = checkValidators;
  opts.num_threads = threads;
  kt_context *ctx = nullptr;
  kt_status status = kt_context_create(&opts, &ctx);
  INFO(kt_context_last_error(nullptr));
  REQUIRE(status == KT_OK);
  REQUIRE(ctx != nullptr);
  CHECK(std::string(kt_context_last_error(ctx)).empty());
  return ctx;
}

inline std::string lastError() { return kt_context_last_error(nullptr); }

inline std::vector<float> randomMatrix(size_t size, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(size);
  for (float &x : v) {
    x = dist(rng);
  }
  return v;
}

/// C = alpha * A * B + beta * C for packed row-major NN, in double.
inline std::vector<float> referenceGemm(const std::vector<float> &a,
                                        const std::vector<float> &b,
                                        const std::vector<float> &c,
                                        float alpha, float beta) {
  std::vector<float> out(c.size());
  for (int64_t i = 0; i < kM; ++i) {
    for (int64_t j = 0; j < kN; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < kK; ++p) {
        acc += double(a[i * kK + p]) * double(b[p * kN + j]);
      }
      double base = beta == 0.0f ? 0.0 : double(beta) * c[i * kN + j];
      out[i * kN + j] = float(double(alpha) * acc + base);
    }
  }
  return out;
}

/// Counts elements off by more than 1e-4 relative to max(1, |expected|).
inline int countMismatches(const std::vector<float> &got,
                           const std::vector<float> &expected) {
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double scale = std::max(1.0, std::fabs(double(expected[i])));
    if (!(std::fabs(double(got[i]) - double(expected[i])) <= 1e-4 * scale)) {
      ++bad;
    }
  }
  return bad;
}

} // namespace kt::lookuptest
