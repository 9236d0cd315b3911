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
constexpr const char *kGeneratorVersion = "cpu.gemm.mlir/5";

struct Params {
  int64_t mc, nc, kc, mr, nr, ku, order, pack;
};

Params readParams(const Config &c) {
  return {c.get("mc"),
          c.get("nc"),
          c.get("kc"),
          c.get("mr"),
          c.get("nv") * c.get("vw"),
          c.get("ku"),
          c.get("order"),
          c.get("pack")};
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

std::string Emitter::block(int64_t h, int64_t w, const std::string &s) {
  const int64_t k = p_.k;
  std::string o;
  // Operand A of this block: m-major (h x K) or k-major (K x h).
  bool aKMajor = p_.transA;
  if (p_.transA) {
    o += fmt::format("    %a{0} = tensor.extract_slice %A[0, %i0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, k, h, tensor(k, p_.m), tensor(k, h));
  } else {
    o += fmt::format("    %a{0} = tensor.extract_slice %A[%i0, 0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, h, k, tensor(p_.m, k), tensor(h, k));
    if (q_.pack) {
      o += fmt::format("    %ae{0} = tensor.empty() : {1}\n"
                       "    %ap{0} = linalg.transpose ins(%a{0} : {2}) "
                       "outs(%ae{0} : {1}) permutation = [1, 0]\n",
                       s, tensor(k, h), tensor(h, k));
      aKMajor = true;
    }
  }
  std::string aName = (aKMajor && !p_.transA ? "%ap" : "%a") + s;
  // Operand B: k-major (K x w) or n-major (w x K).
  bool bKMajor = !p_.transB;
  if (!p_.transB) {
    o += fmt::format("    %b{0} = tensor.extract_slice %B[0, %j0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, k, w, tensor(k, p_.n), tensor(k, w));
  } else {
    o += fmt::format("    %b{0} = tensor.extract_slice %B[%j0, 0] [{1}, {2}] "
                     "[1, 1] : {3} to {4}\n",
                     s, w, k, tensor(p_.n, k), tensor(w, k));
    {
      // The micro-kernel needs B rows along N: an N-major B is always
      // transposed into a K-major block (a scalar dot-product loop otherwise).
      o += fmt::format("    %be{0} = tensor.empty() : {1}\n"
                       "    %b{0}k = linalg.transpose ins(%b{0} : {2}) "
                       "outs(%be{0} : {1}) permutation = [1, 0]\n",
                       s, tensor(k, w), tensor(w, k));
      bKMajor = true;
    }
  }
  std::string bName = "%b" + s + (bKMajor && p_.transB ? "k" : "");

  o += cBlock(p_, h, w, s);
  o += fmt::format("    %e{0} = tensor.empty() : {1}\n"
                   "    %acc{0}_0 = linalg.fill ins(%zero : f32) outs(%e{0} : "
                   "{1}) -> {1}\n",
                   s, tensor(h, w));

  // Split the block so every sub-contraction is a whole number of register
  // tiles: static shapes everywhere, no masks, no peeling.
  const std::vector<Range> rows = splitRanges(h, q_.mr),
                           cols = splitRanges(w, q_.nr);

  const std::string mapA = aKMajor ? "affine_map<(m, n, k) -> (k, m)>"
                                   : "affine_map<(m, n, k) -> (m, k)>";
  const std::string mapB = bKMajor ? "affine_map<(m, n, k) -> (k, n)>"
                                   : "affine_map<(m, n, k) -> (n, k)>";
  int idx = 0;
  for (const Range &r : rows) {
    for (const Range &c : cols) {
      regTiles_.insert({r.tile, c.tile});
      std::string sa = aKMajor
                           ? fmt::format("[0, {}] [{}, {}]", r.off, k, r.len)
                           : fmt::format("[{}, 0] [{}, {}]", r.off, r.len, k);
      std::string ta = aKMajor ? tensor(k, r.len) : tensor(r.len, k);
      std::string sb = bKMajor
                           ? fmt::format("[0, {}] [{}, {}]", c.off, k, c.len)
                           : fmt::format("[{}, 0] [{}, {}]", c.off, c.len, k);
      std::string tb = bKMajor ? tensor(k, c.len) : tensor(c.len, k);
      std::string tc = tensor(r.len, c.len);
      o += fmt::format(
          "    %sa{0}_{1} = tensor.extract_slice {2}{3} [1, 1] : {4} to {5}\n"
          "    %sb{0}_{1} = tensor.extract_slice {6}{7} [1, 1] : {8} to {9}\n"
          "    %sc{0}_{1} = tensor.extract_slice %acc{0}_{1}[{10}, {11}] "
          "[{12}, "
          "{13}] [1, 1] : {14} to {15}\n",
          s, idx, aName, sa, aKMajor ? tensor(k, h) : tensor(h, k), ta, bName,
          sb, bKMajor ? tensor(k, w) : tensor(w, k), tb, r.off, c.off, r.len,
          c.len, tensor(h, w), tc);
      o += fmt::format(
          "    %g{0}_{1} = linalg.generic {{indexing_maps = [{2}, {3}, "
          "affine_map<(m, n, k) -> (m, n)>], iterator_types = [\"parallel\", "
          "\"parallel\", \"reduction\"]}} ins(%sa{0}_{1}, %sb{0}_{1} : {4}, "
          "{5}) outs(%sc{0}_{1} : {6}) attrs = {{kt.rt = \"{7}x{8}\"}} {{\n"
          "    ^bb0(%x: f32, %y: f32, %z: f32):\n"
          "      %p = arith.mulf %x, %y : f32\n"
          "      %q = arith.addf %z, %p : f32\n"
          "      linalg.yield %q : f32\n"
          "    }} -> {6}\n"
          "    %acc{0}_{9} = tensor.insert_slice %g{0}_{1} into "
          "%acc{0}_{1}[{10}, {11}] [{12}, {13}] [1, 1] : {6} into {14}\n",
          s, idx, mapA, mapB, ta, tb, tc, r.tile, c.tile, idx + 1, r.off, c.off,
          r.len, c.len, tensor(h, w));
      ++idx;
    }
  }
  // Epilogue: C = alpha * acc + beta * C, in place; beta == 0 never reads C.
  return o + epilogue(p_, h, w, s, fmt::format("%acc{}_{}", s, idx));
}

std::string Emitter::schedule() {
  std::string o = "  transform.named_sequence @__transform_main(%root: "
                  "!transform.any_op {transform.readonly}) {\n"
                  "    %f = transform.structured.match ops{[\"func.func\"]} "
                  "attributes {sym_name = \"kt_gemm\"} in %root : "
                  "(!transform.any_op) -> !transform.any_op\n";
  const std::string interchange = q_.order ? "[1, 0, 2]" : "[0, 1, 2]";
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
                      "%m{0} tile_sizes [0, 0, {1}] : (!transform.any_op) -> "
                      "(!transform.any_op, !transform.any_op)\n",
                      i, q_.kc);
      src = fmt::format("%k{}", i);
    }
    o += fmt::format(
        "    %t{0}, %la{0}, %lb{0}, %li{0} = "
        "transform.structured.tile_using_for "
        "{1} tile_sizes [{2}, {3}, 1] interchange = {4} : (!transform.any_op) "
        "-> (!transform.any_op, !transform.any_op, !transform.any_op, "
        "!transform.any_op)\n"
        "    transform.structured.vectorize %t{0} : !transform.any_op\n",
        i, src, tm, tn, interchange);
    ++i;
  }
  o += "    transform.apply_patterns to %f {\n"
       "      transform.apply_patterns.vector.reduction_to_contract\n"
       "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
       "      transform.apply_patterns.canonicalization\n"
       "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n";
  for (int j = 0; j < i; ++j) {
    o += fmt::format("    transform.loop.hoist_loop_invariant_subsets %li{} : "
                     "!transform.any_op\n",
                     j);
    if (q_.ku > 1) {
      o += fmt::format("    transform.loop.unroll %li{} {{factor = {}}} : "
                       "!transform.any_op\n",
                       j, q_.ku);
    }
  }
  o += "    %fb = transform.bufferization.one_shot_bufferize %f {memcpy_op = "
       "\"linalg.copy\"} : "
       "(!transform.any_op) -> !transform.any_op\n"
       "    transform.apply_patterns to %fb {\n"
       "      transform.apply_patterns.vector.lower_contraction "
       "lowering_strategy = \"outerproduct\"\n"
       "      transform.apply_patterns.vector.transfer_permutation_patterns\n"
       "      transform.apply_patterns.vector.lower_outerproduct\n"
       "      transform.apply_patterns.vector.lower_transfer "
       "max_transfer_rank = 1\n"
       "      transform.apply_patterns.vector.lower_transpose\n"
       "      transform.apply_patterns.vector.lower_shape_cast\n"
       "      transform.apply_patterns.canonicalization\n"
       "    } {max_num_rewrites = 200000 : i64} : !transform.any_op\n"
       "    transform.yield\n"
       "  }\n";
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
  Params q{16, 24, 8, 4, 8, 2, 1, 0};
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
