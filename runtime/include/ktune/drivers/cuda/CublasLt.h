// cuBLASLt, loaded at run time with dlopen: the vendor baseline a tuned
// result must beat, a candidate family of its own ("cublaslt", the
// heuristic's top algorithms), and a reference on the GPU. Absent cuBLASLt
// is Unavailable, never a build or start failure.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/problem/GemmProblem.h"

#include <memory>
#include <string>

namespace kt::cuda {

/// The loaded library. Thread-safety: get() is safe from many threads.
class CublasLt {
public:
  /// Loads libcublasLt.so.13 / .12 (also from /usr/local/cuda/lib64).
  static Result<const CublasLt *> get();
  /// "cublasLt-130000": recorded as the compiler fingerprint of results.
  const std::string &version() const { return version_; }

  struct Api; ///< The symbol table (CublasLt.cpp).
  const Api &api() const { return *api_; }

private:
  CublasLt() = default;
  const Api *api_ = nullptr;
  std::string version_;
};

/// One GEMM problem planned with cuBLASLt: descriptors, the heuristic's
/// algorithms (best first) and a workspace. Row-major ktune problems are
/// mapped to cuBLASLt's column-major form by swapping A and B.
class CublasLtGemm {
public:
  /// Plans `p` (bf16 / f16 in and out, f32 compute) on `ctx`, asking the
  /// heuristic for up to `maxAlgorithms`.
  static Result<std::unique_ptr<CublasLtGemm>>
  create(const Context &ctx, const GemmProblem &p, int maxAlgorithms = 8);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm &) = delete;
  CublasLtGemm &operator=(const CublasLtGemm &) = delete;

  int algorithms() const { return int(algos_.size()); }
  /// C = alpha * op(A) op(B) + beta * C with algorithm `index` (0: the
  /// heuristic's choice, what cublasLtMatmul users get by default).
  Status run(int index, uint64_t a, uint64_t b, uint64_t c, float alpha,
             float beta, void *stream = nullptr) const;

private:
  CublasLtGemm() = default;
  struct Algo {
    uint64_t data[8];
    size_t workspace;
  };
  const Context *ctx_ = nullptr;
  const CublasLt *lib_ = nullptr;
  void *handle_ = nullptr, *desc_ = nullptr;
  void *layoutA_ = nullptr, *layoutB_ = nullptr, *layoutC_ = nullptr;
  std::vector<Algo> algos_;
  DeviceBuffer workspace_;
};

} // namespace kt::cuda
