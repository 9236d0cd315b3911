// Internal: the HIP C++ of the GEMM and attention references and of the check
// that compares a candidate's output with it, the AMD twins of
// cuda/ReferenceKernels.h (same kernels, same signatures and tolerances). They
// use clang builtins only, so the tuner compiles them for the device's arch
// with the same HipCompiler as the candidates (hiprtc or clang-22) and hands
// the code object to the worker, which links no compiler.
#pragma once

namespace kt::hipref {

/// kt_ref(A, B, ref, mag, M, N, K, lda, ldb, transA, transB, bf16): as
///   cudaref's (f32, 16x16 LDS tiles; launch 16x16 work-items, grid
///   ceil(N/16) x ceil(M/16)).
/// kt_check(C, ldc, ref, mag, M, N, alpha, fmt, absTol, verdict): as
///   cudaref's (launch workgroups of 256; any grid).
/// kt_attn_ref(Q, K, V, ref, Hq, Hkv, Sq, Skv, D, bshd, causal, scale,
///   bf16): as cudaref's (b * hq * sq workgroups of 128).
const char *source();

} // namespace kt::hipref
