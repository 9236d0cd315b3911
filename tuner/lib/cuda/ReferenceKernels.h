// Internal: the CUDA C++ of the GPU references (GEMM, attention) and of the
// check that compares a candidate's output with one.
#pragma once

namespace kt::cudaref {

/// kt_ref(A, B, ref, mag, M, N, K, lda, ldb, transA, transB, bf16):
///   ref[i*N+j] = sum_k a_ik b_kj and mag[i*N+j] = sum_k |a_ik b_kj| (f32,
///   16x16 shared-memory tiles; launch 16x16 threads, grid ceil(N/16) x
///   ceil(M/16)).
/// kt_check(C, ldc, ref, mag, M, N, alpha, fmt, absTol, verdict): C is
///   fp16 (fmt 0), bf16 (1) or f32 (2); counts elements with
///   |c - alpha*ref| > 2^-7 |alpha*ref| (2^-16 for f32) +
///   1e-4 |alpha| mag + absTol (mag may be null: 0; NaN counts) into
///   verdict[0] and the worst error / tolerance (as float bits) into
///   verdict[1].
/// kt_attn_ref(Q, K, V, ref, Hq, Hkv, Sq, Skv, D, bshd, causal, scale,
///   bf16): f32 attention laid out like O (AttentionProblem's definition;
///   rows without keys give 0); launch b * hq * sq blocks of 128 threads.
const char *source();

} // namespace kt::cudaref
