// A GEMM problem in ktune's row-major coordinates, with its canonical key
// and the mapping from and to PyTorch TunableOp signatures.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/DType.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kt {

/// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major.
/// transA: A is stored K x M (row-major) instead of M x K; likewise transB:
/// B is stored N x K instead of K x N. Leading dimensions are in elements and
/// are the row pitch of the stored matrix. alpha/beta are launch arguments,
/// not part of the problem key. `dtype` is the type of A and B, and of C
/// unless `outF32` is set: bf16 or fp16 A and B with an f32 C (the product
/// accumulated in f32 and stored unrounded), key "gemm_bf16_f32out_...".
struct GemmProblem {
  DType dtype = DType::F32;
  bool outF32 = false;
  bool transA = false;
  bool transB = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;

  /// C's element type: f32 with outF32, otherwise dtype.
  DType cDtype() const { return outF32 ? DType::F32 : dtype; }
  /// Fills lda/ldb/ldc with the packed values where they are 0.
  void setDefaultLeadingDims();
  /// Checks sizes are positive and leading dimensions are large enough.
  Status validate() const;
  /// "NN", "NT", "TN" or "TT" (A letter then B letter).
  std::string layout() const;
  /// Canonical key, also ktune's own signature syntax:
  /// "gemm_f32_NT_16x4096x4096_ld_4096_4096_4096"; an f32 C of 16-bit
  /// inputs adds "_f32out" after the dtype:
  /// "gemm_bf16_f32out_NT_16x4096x4096_ld_4096_4096_4096".
  std::string key() const;
  /// Whether a TunableOp pair can spell this problem: TunableOp's plain
  /// GEMM has one element type, so an f32out problem has no TunableOp form
  /// and is written as its ktune key instead.
  bool hasTunableOpForm() const { return !outF32; }
  /// The TunableOp pair (op_sig, params_sig) for this problem (see
  /// hasTunableOpForm()).
  std::string tunableOpSig() const;
  std::string tunableOpParams() const;
  double flops() const { return 2.0 * double(m) * double(n) * double(k); }

  bool operator==(const GemmProblem &) const = default;
};

/// Parses ktune's syntax ("gemm_f32_NT_16x4096x4096[_ld_a_b_c]",
/// "gemm_bf16_f32out_NT_...") or a
/// TunableOp pair
/// ("GemmTunableOp_float_TN,tn_4096_16_4096[_ld_4096_4096_4096]") given as one
/// string with a comma.
Result<GemmProblem> parseGemmProblem(std::string_view sig);

/// Parses a TunableOp op signature and params signature. BLAS column-major
/// coordinates are converted to ktune's row-major ones (see docs/problems.md).
Result<GemmProblem> parseTunableOpGemm(std::string_view opSig,
                                       std::string_view paramsSig);

} // namespace kt
