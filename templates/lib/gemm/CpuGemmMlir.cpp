// Generates the specialised MLIR (payload + transform schedule) of the CPU
// GEMM family for one problem and configuration.
#include "ktune/templates/gemm/CpuGemmMlir.h"

#include "CpuGemmCommon.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>

namespace kt {
namespace {

using namespace cpugemm;

// Bump when the generated code changes in any way: it enters sourceHash(),
// hence every binary-cache key and every stored result's validator.
constexpr const char *kGeneratorVersion = "cpu.gemm.mlir/6";

struct Params {
  int64_t mc, nc, kc, mr, nr, ku, order, pack, packb;
};

Params readParams(const Config &c) {
  return {c.get("mc"),
          c.get("nc"),
          c.get("kc"),
          c.get("mr"),
          c.get("nv") * c.get("vw"),
          c.get("ku"),
          c.get("order"),
          c.get("pack"),
          c.get("packb")};
}

/// Emits the payload and remembers the distinct register tiles it used.
class Emitter {
public:
  Emitter(const GemmProblem &p, const Params &q) : p_(p), q_(q) {}

  std::string module();

private:
  std::string block(int64_t h, int64_t w, const std::string &s);
  std::string schedule();

  const GemmProblem &p_;
  const Params &q_;
  std::set<std::pair<int64_t, int64_t>> regTiles_;
};

/// One GEMM operand of a sub-contraction, as a 3-D view or panel whose dims
/// are (tile index, K, lane) in some order.
struct Operand {
  std::string name, type, map;
};

/// Emits operand `x` ("a" or "b") for the range `r` of the block slice
/// `slice` (2-D, `tiledFirst`: the M/N dim is dim 0, else K is). A packed
/// operand is copied into panels [len / tile, K, tile], contiguous per
/// register tile; an unpacked one is a view [len / tile, tile, K] or
/// [K, len / tile, tile] of the caller's matrix.
Operand emitOperand(std::string &o, const std::string &x, const std::string &s,
                    int idx, const std::string &slice, int64_t sliceLen,
                    bool tiledFirst, bool packed, const Range &r, int64_t k,
                    const char *outer, const char *inner) {
  const std::string id = fmt::format("{}{}_{}", x, s, idx);
  const int64_t nt = r.len / r.tile, t = r.tile;
  const std::string t2 = tiledFirst ? tensor(r.len, k) : tensor(k, r.len);
  const std::string src2 =
      tiledFirst ? tensor(sliceLen, k) : tensor(k, sliceLen);
  const std::string t3 = tiledFirst ? tensor(nt, t, k) : tensor(k, nt, t);
  o += fmt::format(
      "    %r{0} = tensor.extract_slice {1}{2} [1, 1] : {3} to {4}\n"
      "    %x{0} = tensor.expand_shape %r{0} {5} output_shape {6} : {4} into "
      "{7}\n",
      id, slice,
      tiledFirst ? fmt::format("[{}, 0] [{}, {}]", r.off, r.len, k)
                 : fmt::format("[0, {}] [{}, {}]", r.off, k, r.len),
      src2, t2, tiledFirst ? "[[0, 1], [2]]" : "[[0], [1, 2]]",
      tiledFirst ? fmt::format("[{}, {}, {}]", nt, t, k)
                 : fmt::format("[{}, {}, {}]", k, nt, t),
      t3);
  if (!packed) {
    return {"%x" + id, t3,
            tiledFirst
                ? fmt::format("affine_map<(mb, nb, mm, nn, k) -> ({}, {}, k)>",
                              outer, inner)
                : fmt::format("affine_map<(mb, nb, mm, nn, k) -> (k, {}, {})>",
                              outer, inner)};
  }
  const std::string tp = tensor(nt, k, t);
  o += fmt::format("    %e{0} = tensor.empty() : {1}\n"
                   "    %p{0} = linalg.transpose ins(%x{0} : {2}) outs(%e{0} : "
                   "{1}) permutation = {3} {{kt.pk = \"{4}\"}}\n",
                   id, tp, t3, tiledFirst ? "[0, 2, 1]" : "[1, 0, 2]",
                   tiledFirst ? "swap" : "keep");
  return {"%p" + id, tp,
          fmt::format("affine_map<(mb, nb, mm, nn, k) -> ({}, k, {})>", outer,
                      inner)};
}

std::string Emitter::block(int64_t h, int64_t w, const std::string &s) {
  const int64_t k = p_.k;
  std::string o;
  // The block's slices of A (h x K, or K x h when transposed) and of B (K x w,
  // or w x K when transposed).
  if (p_.transA) {
    o += fmt::format("    %a{0} = tensor.extract_slice %A[0, %i0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, k, h, tensor(k, p_.m), tensor(k, h));
  } else {
    o += fmt::format("    %a{0} = tensor.extract_slice %A[%i0, 0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, h, k, tensor(p_.m, k), tensor(h, k));
  }
  if (p_.transB) {
    o += fmt::format("    %b{0} = tensor.extract_slice %B[%j0, 0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, w, k, tensor(p_.n, k), tensor(w, k));
  } else {
    o += fmt::format("    %b{0} = tensor.extract_slice %B[0, %j0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, k, w, tensor(k, p_.n), tensor(k, w));
  }
  o += cBlock(p_, h, w, s);

  // Split the block so every sub-contraction is a whole number of register
  // tiles: static shapes everywhere, no masks, no peeling.
  const std::vector<Range> rows = splitRanges(h, q_.mr),
                           cols = splitRanges(w, q_.nr);
  // A transposed B is always packed: the micro-kernel needs B rows along N.
  const bool packB = p_.transB || q_.packb;
  std::vector<Operand> as, bs;
  for (size_t i = 0; i < rows.size(); ++i) {
    as.push_back(emitOperand(o, "a", s, int(i), "%a" + s, h, !p_.transA,
                             q_.pack != 0, rows[i], k, "mb", "mm"));
  }
  for (size_t j = 0; j < cols.size(); ++j) {
    bs.push_back(emitOperand(o, "b", s, int(j), "%b" + s, w, p_.transB, packB,
                             cols[j], k, "nb", "nn"));
  }
  // One accumulator per (row range, column range), laid out by register
  // tile, [mb, nb, mr, nr]: each tile's sums are contiguous, and the unit
  // (mb, nb) dims of a tiled contraction lead, so they cast away.
  int idx = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < cols.size(); ++j) {
      const Range &r = rows[i], &c = cols[j];
      regTiles_.insert({r.tile, c.tile});
      const int64_t mb = r.len / r.tile, nb = c.len / c.tile;
      const std::string acc =
          fmt::format("tensor<{}x{}x{}x{}xf32>", mb, nb, r.tile, c.tile);
      const std::string cx =
          fmt::format("tensor<{}x{}x{}x{}xf32>", mb, r.tile, nb, c.tile);
      o += fmt::format(
          "    %ae{0}_{1} = tensor.empty() : {2}\n"
          "    %az{0}_{1} = linalg.fill ins(%zero : f32) outs(%ae{0}_{1} : "
          "{2}) "
          "-> {2}\n"
          "    %g{0}_{1} = linalg.generic {{indexing_maps = [{3}, {4}, "
          "affine_map<(mb, nb, mm, nn, k) -> (mb, nb, mm, nn)>], "
          "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
          "\"parallel\", \"reduction\"]}} ins({5}, {6} : {7}, {8}) "
          "outs(%az{0}_{1} : {2}) attrs = {{kt.rt = \"{9}x{10}\"}} {{\n"
          "    ^bb0(%x: f32, %y: f32, %z: f32):\n"
          "      %p = arith.mulf %x, %y : f32\n"
          "      %q = arith.addf %z, %p : f32\n"
          "      linalg.yield %q : f32\n"
          "    }} -> {2}\n",
          s, idx, acc, as[i].map, bs[j].map, as[i].name, bs[j].name, as[i].type,
          bs[j].type, r.tile, c.tile);
      // Epilogue of this range: C = alpha * acc + beta * C, in place; beta
      // == 0 never reads C.
      o += fmt::format(
          "    %cs{0}_{1} = tensor.extract_slice {15}[{2}, {3}] [{4}, "
          "{5}] "
          "[1, 1] : {6} to {7}\n"
          "    %cx{0}_{1} = tensor.expand_shape %cs{0}_{1} [[0, 1], [2, 3]] "
          "output_shape [{8}, {9}, {10}, {11}] : {7} into {12}\n"
          "    %ce{0}_{1} = linalg.generic {{indexing_maps = [affine_map<(mb, "
          "nb, mm, nn) -> (mb, nb, mm, nn)>, affine_map<(mb, nb, mm, nn) -> "
          "(mb, mm, nb, nn)>], iterator_types = [\"parallel\", \"parallel\", "
          "\"parallel\", \"parallel\"]}} ins(%g{0}_{1} : {13}) "
          "outs(%cx{0}_{1} : {12}) {{\n"
          "    ^bb0(%x: f32, %y: f32):\n"
          "      %ax = arith.mulf %alpha, %x : f32\n"
          "      %by = arith.mulf %beta, %y : f32\n"
          "      %v = arith.addf %ax, %by : f32\n"
          "      %u = arith.select %bz, %ax, %v : f32\n"
          "      linalg.yield %u : f32\n"
          "    }} -> {12}\n"
          "    %cc{0}_{1} = tensor.collapse_shape %ce{0}_{1} [[0, 1], [2, 3]] "
          ": "
          "{12} into {7}\n"
          "    %c{0}_{14} = tensor.insert_slice %cc{0}_{1} into {15}[{2}, "
          "{3}] [{4}, {5}] [1, 1] : {7} into {6}\n",
          s, idx, r.off, c.off, r.len, c.len, tensor(h, w),
          tensor(r.len, c.len), mb, r.tile, nb, c.tile, cx, acc, idx + 1,
          idx == 0 ? "%c" + s : fmt::format("%c{}_{}", s, idx));
      ++idx;
    }
  }
  o += fmt::format(
      "    bufferization.materialize_in_destination %c{0}_{1} in restrict "
      "writable %cv{0} : ({2}, memref<{3}x{4}xf32, strided<[{5}, 1], offset: "
      "?>>) -> ()\n",
      s, idx, tensor(h, w), h, w, p_.ldc);
  return o;
}

std::string Emitter::schedule() {
  std::string o = scheduleHead();
  // Loops over (register-tile row, register-tile column, k), in `order`.
  const std::string interchange =
      q_.order ? "[1, 0, 2, 3, 4]" : "[0, 1, 2, 3, 4]";
  int i = 0;
  for (auto [tm, tn] : regTiles_) {
    o += fmt::format("    %m{0} = transform.structured.match "
                     "ops{{[\"linalg.generic\"]}} attributes {{kt.rt = "
                     "\"{1}x{2}\"}} in %f : (!transform.any_op) -> "
                     "!transform.any_op\n",
                     i, tm, tn);
    std::string src = fmt::format("%m{}", i);
    if (p_.k > q_.kc) {
      o +=
          fmt::format("    %k{0}, %lk{0} = transform.structured.tile_using_for "
                      "%m{0} tile_sizes [0, 0, 0, 0, {1}] : "
                      "(!transform.any_op) -> "
                      "(!transform.any_op, !transform.any_op)\n",
                      i, q_.kc);
      src = fmt::format("%k{}", i);
    }
    o += fmt::format(
        "    %t{0}, %la{0}, %lb{0}, %li{0} = "
        "transform.structured.tile_using_for "
        "{1} tile_sizes [1, 1, 0, 0, 1] interchange = {2} : "
        "(!transform.any_op) "
        "-> (!transform.any_op, !transform.any_op, !transform.any_op, "
        "!transform.any_op)\n"
        "    transform.structured.vectorize %t{0} : !transform.any_op\n",
        i, src, interchange);
    ++i;
  }
  // Packing copies: a transpose that keeps the lane dim is a row copy.
  o += "    %pk = transform.structured.match ops{[\"linalg.transpose\"]} "
       "attributes {kt.pk = \"keep\"} in %f : (!transform.any_op) -> "
       "!transform.any_op\n"
       "    transform.foreach %pk : !transform.any_op {\n"
       "    ^bb0(%p: !transform.any_op):\n"
       "      %pt, %pl0, %pl1 = transform.structured.tile_using_for %p "
       "tile_sizes [1, 1, 0] : (!transform.any_op) -> (!transform.any_op, "
       "!transform.any_op, !transform.any_op)\n"
       "      transform.structured.vectorize %pt : !transform.any_op\n"
       "    }\n";
  o +=
      // Contractions first, then drop the unit (mb, nb) dims on their own:
      // the two pattern sets with canonicalization together do not converge.
      "    transform.apply_patterns to %f {\n"
      "      transform.apply_patterns.vector.reduction_to_contract\n"
      "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
      "      transform.apply_patterns.canonicalization\n"
      "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n"
      "    transform.apply_patterns to %f {\n"
      "      transform.apply_patterns.vector.cast_away_vector_leading_one_dim\n"
      "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n";
  o += hoistAndUnroll(i, q_.ku);
  o += bufferizeAndLower(
      "      transform.apply_patterns.vector.lower_contraction "
      "lowering_strategy = \"outerproduct\"\n"
      "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
      "      transform.apply_patterns.vector.lower_outerproduct\n");
  return o;
}

std::string Emitter::module() {
  std::string body = dispatchBlocks(
      p_, q_.mc, q_.nc, [this](int64_t h, int64_t w, const std::string &s) {
        return block(h, w, s);
      });
  return cpugemm::module(kGeneratorVersion, p_, q_.mc, q_.nc, body, schedule());
}

} // namespace

std::string CpuGemmMlir::sourceHash() const {
  // The generator's version and a canonical instance pin the template down.
  GemmProblem p;
  p.m = 37;
  p.n = 29;
  p.k = 23;
  p.setDefaultLeadingDims();
  Params q{16, 24, 8, 4, 8, 2, 1, 1, 1};
  std::string text = Emitter(p, q).module();
  return sha256Hex(std::string(kGeneratorVersion) + "\n" + text).substr(0, 16);
}

Result<KernelSource> CpuGemmMlir::instantiate(const Config &config,
                                              const GemmProblem &problem,
                                              const TargetDesc &target) const {
  KT_RETURN_IF_ERROR(validate(config, problem, target));
  Params q = readParams(config);
  KernelSource src;
  src.language = "mlir";
  src.entry = "kt_gemm";
  src.text = Emitter(problem, q).module();
  return src;
}

} // namespace kt
