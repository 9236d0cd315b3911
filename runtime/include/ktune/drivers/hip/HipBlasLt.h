// hipBLASLt, loaded at run time with dlopen: on AMD GPUs what cuBLASLt is on
// NVIDIA ones, the vendor baseline a tuned result must beat, a candidate
// family of its own (the heuristic's top algorithms) and a reference on the
// GPU. Absent hipBLASLt is Unavailable, never a build or start failure.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kt::hip {

/// The loaded library. Thread-safety: get() is safe from many threads.
class HipBlasLt {
public:
  /// Loads libhipblaslt.so.1 / .so.0 / .so (also from /opt/rocm/lib) and
  /// reads its version through a handle on the current device. Unavailable
  /// where the library, the HIP runtime or a GPU is missing, or where the
  /// library predates hipBLASLt 0.7 (ROCm 6.1), whose types differ.
  static Result<const HipBlasLt *> get();
  /// "hipblaslt-100000" (hipblasLtGetVersion: major * 100000 + minor * 100
  /// + patch): recorded as the compiler fingerprint of results.
  const std::string &version() const { return version_; }

  struct Api; ///< The symbol table (HipBlasLt.cpp).
  const Api &api() const { return *api_; }

private:
  HipBlasLt() = default;
  const Api *api_ = nullptr;
  std::string version_;
};

/// One GEMM problem planned with hipBLASLt: descriptors, the heuristic's
/// algorithms (best first) and a workspace. Row-major ktune problems are
/// mapped to hipBLASLt's column-major form by swapping A and B. Must not
/// outlive its Context. Thread-safety: run() from one thread at a time (a
/// hipBLASLt handle is not safe for concurrent use across streams).
class HipBlasLtGemm {
public:
  /// Plans `p` (bf16 / f16 in and out, f32 compute) on `ctx`, asking the
  /// heuristic for up to `maxAlgorithms`.
  static Result<std::unique_ptr<HipBlasLtGemm>>
  create(const Context &ctx, const GemmProblem &p, int maxAlgorithms = 8);
  ~HipBlasLtGemm();
  HipBlasLtGemm(const HipBlasLtGemm &) = delete;
  HipBlasLtGemm &operator=(const HipBlasLtGemm &) = delete;

  int algorithms() const { return int(algos_.size()); }
  /// C = alpha * op(A) op(B) + beta * C with algorithm `index` (0: the
  /// heuristic's choice), asynchronously on `stream`.
  Status run(int index, uint64_t a, uint64_t b, uint64_t c, float alpha,
             float beta, void *stream = nullptr) const;

private:
  HipBlasLtGemm() = default;
  /// hipblasLtMatmulAlgo_t: uint8_t data[16]; size_t max_workspace_bytes.
  struct Algo {
    uint8_t data[16];
    size_t maxWorkspaceBytes;
  };
  const Context *ctx_ = nullptr;
  const HipBlasLt *lib_ = nullptr;
  std::string key_;
  void *handle_ = nullptr, *desc_ = nullptr;
  void *layoutA_ = nullptr, *layoutB_ = nullptr, *layoutC_ = nullptr;
  std::vector<Algo> algos_;
  DeviceBuffer workspace_;
};

} // namespace kt::hip
