// Text helpers shared by the CPU GEMM generators: operand types, the launch
// grid, edge-block dispatch and the alpha/beta epilogue.
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kt::cpugemm {

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// "tensor<RxCxf32>" / "tensor<RxCxDxf32>".
std::string tensor(int64_t r, int64_t c);
std::string tensor(int64_t r, int64_t c, int64_t d);
/// The static strided memref types of the kernel's operands.
std::string memrefA(const GemmProblem &p);
std::string memrefB(const GemmProblem &p);
std::string memrefC(const GemmProblem &p);

/// A run of rows (or columns) of a block covered by one register-tile size:
/// `len` is a multiple of `tile`.
struct Range {
  int64_t off, len, tile;
};
/// Splits `n` into whole register tiles of size `t` plus one remainder range
/// whose own tile is the remainder: every sub-contraction has static shapes.
std::vector<Range> splitRanges(int64_t n, int64_t t);

/// Emits, for a block of `h x w` named by suffix `s`, the payload text.
using BlockFn =
    std::function<std::string(int64_t h, int64_t w, const std::string &s)>;
/// The body of @kt_gemm after the prologue: full blocks and the smaller
/// last block row/column, selected by scf.if on (bi, bj).
std::string dispatchBlocks(const GemmProblem &p, int64_t mc, int64_t nc,
                           const BlockFn &block);

/// Views block `s` (h x w at (%i0, %j0)) of C as `%cv<s>` / `%c<s>`.
std::string cBlock(const GemmProblem &p, int64_t h, int64_t w,
                   const std::string &s);
/// C = alpha * acc + beta * C in place on block `s`; beta == 0 never reads C.
std::string epilogue(const GemmProblem &p, int64_t h, int64_t w,
                     const std::string &s, const std::string &acc);

/// Opens @__transform_main and matches @kt_gemm as `%f`.
std::string scheduleHead();
/// Hoists the accumulators out of each innermost K loop `%li<i>` (i <
/// `loops`) and unrolls it by `ku`.
std::string hoistAndUnroll(int loops, int64_t ku);
/// Canonicalises, bufferises, hoists buffers out of loops, then applies
/// `lowering` (the family's vector lowering patterns) together with the
/// shared transfer/transpose/shape-cast lowering, and closes the schedule.
std::string bufferizeAndLower(const std::string &lowering);

/// The whole module: @kt_gemm around `body`, the grid functions and the
/// transform schedule `schedule`.
std::string module(const char *generator, const GemmProblem &p, int64_t mc,
                   int64_t nc, const std::string &body,
                   const std::string &schedule);

} // namespace kt::cpugemm
