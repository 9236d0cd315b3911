#include "CpuGemmCommon.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt::cpugemm {

std::string tensor(int64_t r, int64_t c) {
  return fmt::format("tensor<{}x{}xf32>", r, c);
}

std::string tensor(int64_t r, int64_t c, int64_t d) {
  return fmt::format("tensor<{}x{}x{}xf32>", r, c, d);
}

namespace {
std::string strided(int64_t r, int64_t c, int64_t ld) {
  return fmt::format("memref<{}x{}xf32, strided<[{}, 1]>>", r, c, ld);
}
} // namespace

std::string memrefA(const GemmProblem &p) {
  return p.transA ? strided(p.k, p.m, p.lda) : strided(p.m, p.k, p.lda);
}

std::string memrefB(const GemmProblem &p) {
  return p.transB ? strided(p.n, p.k, p.ldb) : strided(p.k, p.n, p.ldb);
}

std::string memrefC(const GemmProblem &p) { return strided(p.m, p.n, p.ldc); }

std::vector<Range> splitRanges(int64_t n, int64_t t) {
  std::vector<Range> out;
  const int64_t whole = n / t * t;
  if (whole > 0) {
    out.push_back({0, whole, t});
  }
  if (n > whole) {
    out.push_back({whole, n - whole, n - whole});
  }
  return out;
}

std::string dispatchBlocks(const GemmProblem &p, int64_t mc, int64_t nc,
                           const BlockFn &block) {
  const int64_t gm = ceilDiv(p.m, mc), gn = ceilDiv(p.n, nc);
  const int64_t hFull = std::min(mc, p.m), hEdge = p.m - (gm - 1) * mc;
  const int64_t wFull = std::min(nc, p.n), wEdge = p.n - (gn - 1) * nc;
  const bool mEdge = hEdge != hFull, nEdge = wEdge != wFull;
  auto cols = [&](int64_t h, const std::string &s) {
    if (!nEdge) {
      return block(h, wFull, s + "f");
    }
    return fmt::format("    scf.if %lastn {{\n{}    }} else {{\n{}    }}\n",
                       block(h, wEdge, s + "e"), block(h, wFull, s + "f"));
  };
  std::string o;
  if (mEdge) {
    o += fmt::format("    %lmI = arith.constant {} : index\n"
                     "    %lastm = arith.cmpi eq, %bi, %lmI : index\n",
                     gm - 1);
  }
  if (nEdge) {
    o += fmt::format("    %lnI = arith.constant {} : index\n"
                     "    %lastn = arith.cmpi eq, %bj, %lnI : index\n",
                     gn - 1);
  }
  if (!mEdge) {
    return o + cols(hFull, "f");
  }
  return o + fmt::format("    scf.if %lastm {{\n{}    }} else {{\n{}    }}\n",
                         cols(hEdge, "e"), cols(hFull, "f"));
}

std::string cBlock(const GemmProblem &p, int64_t h, int64_t w,
                   const std::string &s) {
  return fmt::format(
      "    %cv{0} = memref.subview %Cm[%i0, %j0] [{1}, {2}] [1, 1] : {3} to "
      "memref<{1}x{2}xf32, strided<[{4}, 1], offset: ?>>\n"
      "    %c{0} = bufferization.to_tensor %cv{0} restrict writable : "
      "memref<{1}x{2}xf32, strided<[{4}, 1], offset: ?>> to {5}\n",
      s, h, w, memrefC(p), p.ldc, tensor(h, w));
}

std::string epilogue(const GemmProblem &p, int64_t h, int64_t w,
                     const std::string &s, const std::string &acc) {
  return fmt::format(
      "    %r{0} = linalg.generic {{indexing_maps = [affine_map<(m, n) -> (m, "
      "n)>, affine_map<(m, n) -> (m, n)>], iterator_types = [\"parallel\", "
      "\"parallel\"]}} ins({1} : {2}) outs(%c{0} : {2}) {{\n"
      "    ^bb0(%x: f32, %y: f32):\n"
      "      %ax = arith.mulf %alpha, %x : f32\n"
      "      %by = arith.mulf %beta, %y : f32\n"
      "      %s = arith.addf %ax, %by : f32\n"
      "      %v = arith.select %bz, %ax, %s : f32\n"
      "      linalg.yield %v : f32\n"
      "    }} -> {2}\n"
      "    bufferization.materialize_in_destination %r{0} in restrict writable "
      "%cv{0} : ({2}, memref<{3}x{4}xf32, strided<[{5}, 1], offset: ?>>) -> "
      "()\n",
      s, acc, tensor(h, w), h, w, p.ldc);
}

std::string scheduleHead() {
  return "  transform.named_sequence @__transform_main(%root: "
         "!transform.any_op {transform.readonly}) {\n"
         "    %f = transform.structured.match ops{[\"func.func\"]} "
         "attributes {sym_name = \"kt_gemm\"} in %root : "
         "(!transform.any_op) -> !transform.any_op\n";
}

std::string hoistAndUnroll(int loops, int64_t ku) {
  std::string o;
  for (int i = 0; i < loops; ++i) {
    o += fmt::format("    transform.loop.hoist_loop_invariant_subsets %li{} : "
                     "!transform.any_op\n",
                     i);
    if (ku > 1) {
      o += fmt::format("    transform.loop.unroll %li{} {{factor = {}}} : "
                       "!transform.any_op\n",
                       i, ku);
    }
  }
  return o;
}

std::string bufferizeAndLower(const std::string &lowering) {
  // Drop the loop-carried tensors that hoisting left passing through
  // unchanged: aliasing iter_args make bufferization copy each register
  // tile's accumulator.
  return "    transform.apply_patterns to %f {\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n"
         "    %fb = transform.bufferization.one_shot_bufferize %f {memcpy_op = "
         "\"linalg.copy\"} : (!transform.any_op) -> !transform.any_op\n"
         "    transform.bufferization.buffer_loop_hoisting %fb : "
         "!transform.any_op\n"
         "    transform.apply_patterns to %fb {\n" +
         lowering +
         "      transform.apply_patterns.vector.lower_transfer "
         "max_transfer_rank = 1\n"
         "      transform.apply_patterns.vector.lower_transpose\n"
         "      transform.apply_patterns.vector.lower_shape_cast\n"
         "      transform.apply_patterns.canonicalization\n"
         "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n"
         "    transform.yield\n"
         "  }\n";
}

std::string module(const char *generator, const GemmProblem &p, int64_t mc,
                   int64_t nc, const std::string &body,
                   const std::string &schedule) {
  const int64_t gm = ceilDiv(p.m, mc), gn = ceilDiv(p.n, nc);
  std::string o = fmt::format(
      "// ktune {0} problem {1}\n"
      "module attributes {{transform.with_named_sequence}} {{\n"
      "  func.func @kt_gemm(%Am: {2}, %Bm: {3}, %Cm: {4}, %alpha: f32, %beta: "
      "f32, %bi: index, %bj: index) {{\n"
      "    %A = bufferization.to_tensor %Am restrict : {2} to {5}\n"
      "    %B = bufferization.to_tensor %Bm restrict : {3} to {6}\n"
      "    %cMC = arith.constant {7} : index\n"
      "    %cNC = arith.constant {8} : index\n"
      "    %i0 = arith.muli %bi, %cMC : index\n"
      "    %j0 = arith.muli %bj, %cNC : index\n"
      "    %zero = arith.constant 0.0 : f32\n"
      "    %bz = arith.cmpf oeq, %beta, %zero : f32\n",
      generator, p.key(), memrefA(p), memrefB(p), memrefC(p),
      p.transA ? tensor(p.k, p.m) : tensor(p.m, p.k),
      p.transB ? tensor(p.n, p.k) : tensor(p.k, p.n), mc, nc);
  o += body;
  o += "    return\n  }\n";
  o += fmt::format(
      "  func.func @kt_grid_m() -> i64 {{\n"
      "    %g = arith.constant {} : i64\n    return %g : i64\n  }}\n"
      "  func.func @kt_grid_n() -> i64 {{\n"
      "    %g = arith.constant {} : i64\n    return %g : i64\n  }}\n",
      gm, gn);
  o += schedule;
  o += "}\n";
  return o;
}

} // namespace kt::cpugemm
