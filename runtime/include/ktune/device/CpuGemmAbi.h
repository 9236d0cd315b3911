// The calling convention of CPU GEMM code objects, shared by the compiler
// (which emits it), the tuner and the runtime lookup (which call it).
#pragma once

#include <cstdint>

namespace kt {

/// Computes one output block (bi, bj) of C = alpha*op(A)*op(B) + beta*C.
/// Pointers are the matrices' base addresses; shapes and leading dimensions
/// are compiled in. beta == 0 means C is not read (NaNs in C are ignored).
using CpuGemmBlockFn = void (*)(const float *a, const float *b, float *c,
                                float alpha, float beta, int64_t bi,
                                int64_t bj);
/// Number of blocks along M / N; the launch covers the grid.
using CpuGridFn = int64_t (*)();

inline constexpr const char *kCpuGemmSymbol = "kt_gemm";
inline constexpr const char *kCpuGridMSymbol = "kt_grid_m";
inline constexpr const char *kCpuGridNSymbol = "kt_grid_n";

} // namespace kt
