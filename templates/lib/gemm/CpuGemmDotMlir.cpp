// Generates the MLIR (payload + transform schedule) of the CPU dot-product
// GEMM family for one NT problem and configuration.
#include "ktune/templates/gemm/CpuGemmDotMlir.h"

#include "CpuGemmCommon.h"

#include "ktune/base/Hash.h"

#include <fmt/format.h>

#include <set>
#include <string>

namespace kt {
namespace {

using namespace cpugemm;

// Bump when the generated code changes in any way (see CpuGemmMlir.cpp).
constexpr const char *kGeneratorVersion = "cpu.gemm.dot.mlir/2";

struct Params {
  int64_t mc, nc, kc, mr, nr, vw, ku, order;
};

Params readParams(const Config &c) {
  return {c.get("mc"), c.get("nc"), c.get("kc"), c.get("mr"),
          c.get("nr"), c.get("vw"), c.get("ku"), c.get("order")};
}

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
  std::set<int64_t> sumTiles_;
};

std::string Emitter::block(int64_t h, int64_t w, const std::string &s) {
  const int64_t k = p_.k, v = q_.vw, kb = k / v;
  std::string o;
  // A's rows and B's rows of this block, K split into (K / vw, vw).
  o += fmt::format(
      "    %a{0} = tensor.extract_slice %A[%i0, 0] [{1}, {2}] [1, 1] : {3} to "
      "{4}\n"
      "    %a{0}3 = tensor.expand_shape %a{0} [[0], [1, 2]] output_shape "
      "[{1}, {5}, {6}] : {4} into {7}\n"
      "    %b{0} = tensor.extract_slice %B[%j0, 0] [{8}, {2}] [1, 1] : {9} to "
      "{10}\n"
      "    %b{0}3 = tensor.expand_shape %b{0} [[0], [1, 2]] output_shape "
      "[{8}, {5}, {6}] : {10} into {11}\n",
      s, h, k, tensor(p_.m, k), tensor(h, k), kb, v, tensor(h, kb, v), w,
      tensor(p_.n, k), tensor(w, k), tensor(w, kb, v));
  o += cBlock(p_, h, w, s);
  o += fmt::format("    %e{0} = tensor.empty() : {1}\n"
                   "    %acc{0}_0 = linalg.fill ins(%zero : f32) outs(%e{0} : "
                   "{1}) -> {1}\n"
                   "    %se{0} = tensor.empty() : {2}\n"
                   "    %sum{0}_0 = linalg.fill ins(%zero : f32) outs(%se{0} : "
                   "{2}) -> {2}\n",
                   s, tensor(h, w, v), tensor(h, w));
  int idx = 0;
  for (const Range &r : splitRanges(h, q_.mr)) {
    for (const Range &c : splitRanges(w, q_.nr)) {
      regTiles_.insert({r.tile, c.tile});
      sumTiles_.insert(c.tile);
      const std::string ta = tensor(r.len, kb, v), tb = tensor(c.len, kb, v),
                        tc = tensor(r.len, c.len, v), ts = tensor(r.len, c.len);
      // Partial sums per lane: acc[m, n, l] += A[m, kb, l] * B[n, kb, l].
      o += fmt::format(
          "    %sa{0}_{1} = tensor.extract_slice %a{0}3[{2}, 0, 0] [{3}, {4}, "
          "{5}] [1, 1, 1] : {6} to {7}\n"
          "    %sb{0}_{1} = tensor.extract_slice %b{0}3[{8}, 0, 0] [{9}, {4}, "
          "{5}] [1, 1, 1] : {10} to {11}\n"
          "    %sc{0}_{1} = tensor.extract_slice %acc{0}_{1}[{2}, {8}, 0] "
          "[{3}, "
          "{9}, {5}] [1, 1, 1] : {12} to {13}\n"
          "    %g{0}_{1} = linalg.generic {{indexing_maps = [affine_map<(m, n, "
          "kb, l) -> (m, kb, l)>, affine_map<(m, n, kb, l) -> (n, kb, l)>, "
          "affine_map<(m, n, kb, l) -> (m, n, l)>], iterator_types = "
          "[\"parallel\", \"parallel\", \"reduction\", \"parallel\"]}} "
          "ins(%sa{0}_{1}, %sb{0}_{1} : {7}, {11}) outs(%sc{0}_{1} : {13}) "
          "attrs = {{kt.rt = \"{14}x{15}\"}} {{\n"
          "    ^bb0(%x: f32, %y: f32, %z: f32):\n"
          "      %q = math.fma %x, %y, %z : f32\n"
          "      linalg.yield %q : f32\n"
          "    }} -> {13}\n"
          "    %acc{0}_{16} = tensor.insert_slice %g{0}_{1} into "
          "%acc{0}_{1}[{2}, {8}, 0] [{3}, {9}, {5}] [1, 1, 1] : {13} into "
          "{12}\n",
          s, idx, r.off, r.len, kb, v, tensor(h, kb, v), ta, c.off, c.len,
          tensor(w, kb, v), tb, tensor(h, w, v), tc, r.tile, c.tile, idx + 1);
      // Sum the lanes of this range: sum[m, n] = sum_l acc[m, n, l].
      o += fmt::format(
          "    %ra{0}_{1} = tensor.extract_slice %acc{0}_{2}[{3}, {4}, 0] "
          "[{5}, "
          "{6}, {7}] [1, 1, 1] : {8} to {9}\n"
          "    %rs{0}_{1} = tensor.extract_slice %sum{0}_{1}[{3}, {4}] [{5}, "
          "{6}] [1, 1] : {10} to {11}\n"
          "    %rd{0}_{1} = linalg.generic {{indexing_maps = [affine_map<(m, "
          "n, "
          "l) -> (m, n, l)>, affine_map<(m, n, l) -> (m, n)>], iterator_types "
          "= [\"parallel\", \"parallel\", \"reduction\"]}} ins(%ra{0}_{1} : "
          "{9}) outs(%rs{0}_{1} : {11}) attrs = {{kt.sum = \"{12}\"}} {{\n"
          "    ^bb0(%x: f32, %z: f32):\n"
          "      %q = arith.addf %z, %x : f32\n"
          "      linalg.yield %q : f32\n"
          "    }} -> {11}\n"
          "    %sum{0}_{2} = tensor.insert_slice %rd{0}_{1} into "
          "%sum{0}_{1}[{3}, {4}] [{5}, {6}] [1, 1] : {11} into {10}\n",
          s, idx, idx + 1, r.off, c.off, r.len, c.len, v, tensor(h, w, v), tc,
          tensor(h, w), ts, c.tile);
      ++idx;
    }
  }
  return o + epilogue(p_, h, w, s, fmt::format("%sum{}_{}", s, idx));
}

std::string Emitter::schedule() {
  std::string o = scheduleHead();
  const std::string interchange = q_.order ? "[1, 0, 2]" : "[0, 1, 2]";
  const int64_t kbTile = q_.kc / q_.vw, kb = p_.k / q_.vw;
  int i = 0;
  for (auto [tm, tn] : regTiles_) {
    o += fmt::format("    %m{0} = transform.structured.match "
                     "ops{{[\"linalg.generic\"]}} attributes {{kt.rt = "
                     "\"{1}x{2}\"}} in %f : (!transform.any_op) -> "
                     "!transform.any_op\n",
                     i, tm, tn);
    std::string src = fmt::format("%m{}", i);
    if (kb > kbTile) {
      o += fmt::format(
          "    %k{0}, %lk{0} = transform.structured.tile_using_for %m{0} "
          "tile_sizes [0, 0, {1}, 0] : (!transform.any_op) -> "
          "(!transform.any_op, !transform.any_op)\n",
          i, kbTile);
      src = fmt::format("%k{}", i);
    }
    // Register tile: mr x nr x (one vector of K); the unit K-block dim is
    // folded away so the tile is an elementwise FMA on vector<mr x nr x vw>.
    o += fmt::format(
        "    %t{0}, %la{0}, %lb{0}, %li{0} = "
        "transform.structured.tile_using_for {1} tile_sizes [{2}, {3}, 1, 0] "
        "interchange = {4} : (!transform.any_op) -> (!transform.any_op, "
        "!transform.any_op, !transform.any_op, !transform.any_op)\n"
        "    transform.apply_patterns to %li{0} {{\n"
        "      "
        "transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices\n"
        "    }} : !transform.any_op\n"
        "    transform.foreach %li{0} : !transform.any_op {{\n"
        "    ^bb0(%l: !transform.any_op):\n"
        "      %u = transform.structured.match ops{{[\"linalg.generic\"]}} in "
        "%l : (!transform.any_op) -> !transform.any_op\n"
        "      transform.structured.vectorize %u : !transform.any_op\n"
        "    }}\n",
        i, src, tm, tn, interchange);
    ++i;
  }
  int j = 0;
  for (int64_t tn : sumTiles_) {
    // Lane sums: one row and tn columns at a time, vectorised.
    o += fmt::format(
        "    %s{0} = transform.structured.match ops{{[\"linalg.generic\"]}} "
        "attributes {{kt.sum = \"{1}\"}} in %f : (!transform.any_op) -> "
        "!transform.any_op\n"
        "    %st{0}, %sl{0}, %sm{0} = transform.structured.tile_using_for "
        "%s{0} "
        "tile_sizes [1, {1}, 0] : (!transform.any_op) -> (!transform.any_op, "
        "!transform.any_op, !transform.any_op)\n"
        "    transform.structured.vectorize %st{0} : !transform.any_op\n",
        j, tn);
    ++j;
  }
  o += "    transform.apply_patterns to %f {\n"
       "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
       "      transform.apply_patterns.canonicalization\n"
       "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n";
  o += hoistAndUnroll(i, q_.ku);
  o += bufferizeAndLower(
      "      transform.apply_patterns.vector.lower_multi_reduction "
      "lowering_strategy = \"innerparallel\"\n"
      "      transform.apply_patterns.vector.transfer_permutation_patterns\n");
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

std::string CpuGemmDotMlir::sourceHash() const {
  GemmProblem p;
  p.m = 37;
  p.n = 29;
  p.k = 32;
  p.transB = true;
  p.setDefaultLeadingDims();
  Params q{8, 12, 16, 4, 3, 8, 2, 1};
  std::string text = Emitter(p, q).module();
  return sha256Hex(std::string(kGeneratorVersion) + "\n" + text).substr(0, 16);
}

Result<KernelSource>
CpuGemmDotMlir::instantiate(const Config &config, const GemmProblem &problem,
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
