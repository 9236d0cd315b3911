// Internal: the CUDA C++ of the GPU reference GEMM and of the check that
// compares a candidate's output with it.
#pragma once

namespace kt::cudaref {

/// kt_ref(A, B, ref, mag, M, N, K, lda, ldb, transA, transB, bf16):
///   ref[i*N+j] = sum_k a_ik b_kj and mag[i*N+j] = sum_k |a_ik b_kj| (f32,
///   16x16 shared-memory tiles; launch 16x16 threads, grid ceil(N/16) x
///   ceil(M/16)).
/// kt_check(C, ldc, ref, mag, M, N, alpha, bf16, verdict):
///   counts elements with |c - alpha*ref| > 2^-7 |alpha*ref| +
///   1e-4 |alpha| mag + 1e-3 (NaN counts) into verdict[0] and the worst
///   error / tolerance (as float bits) into verdict[1].
const char *source();

} // namespace kt::cudaref
