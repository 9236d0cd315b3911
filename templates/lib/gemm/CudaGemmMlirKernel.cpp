// The MLIR text of cuda.gemm.mlir: a gpu.module for the NVVM target with one
// kernel written in the gpu, scf, memref, vector and nvvm dialects, fully
// specialised to the problem (static shapes: bare pointers at launch).
#include "CudaGemmMlirKernel.h"

#include <fmt/format.h>

#include <vector>

namespace kt::mlirgemm {
namespace {

/// Emits the body line by line with fresh SSA names.
class Emitter {
public:
  Emitter(const Params &q, const GemmProblem &p, const std::string &arch)
      : q_(q), p_(p), arch_(arch) {
    elem_ = p.dtype == DType::BF16 ? "bf16" : "f16";
  }
  std::string module();

private:
  std::string tmp() { return fmt::format("%v{}", next_++); }
  std::string idx(int64_t v) { return "%c" + std::to_string(v); }
  void line(const std::string &s) { body_ += "      " + s + "\n"; }
  std::string constIndex(int64_t v) {
    consts_.insert(v);
    return idx(v);
  }
  std::string memrefA() const {
    return fmt::format("memref<{}x{}x{}>", p_.transA ? p_.k : p_.m, p_.lda,
                       elem_);
  }
  std::string memrefB() const {
    return fmt::format("memref<{}x{}x{}>", p_.transB ? p_.n : p_.k, p_.ldb,
                       elem_);
  }
  std::string memrefC() const {
    return fmt::format("memref<{}x{}x{}>", p_.m, p_.ldc, elem_);
  }
  std::string smemType(int64_t rows) const {
    return fmt::format("memref<{}x{}x{}, #gpu.address_space<workgroup>>", rows,
                       q_.bk + 8, elem_);
  }
  void loadTile(const std::string &dst, int64_t rows, bool isA,
                const std::string &k0, const std::string &base);
  std::string fragment(const std::string &smem, int64_t rows,
                       const std::string &r, const std::string &c);

  const Params &q_;
  const GemmProblem &p_;
  std::string arch_, elem_, body_;
  std::set<int64_t> consts_;
  int next_ = 0;
};

/// Copies a rows x bk tile (A: rows of M, B: rows of N; K contiguous in
/// shared memory whatever the layout) with zeros outside the problem; each
/// thread takes every T-th element.
void Emitter::loadTile(const std::string &dst, int64_t rows, bool isA,
                       const std::string &k0, const std::string &base) {
  const int64_t total = rows * q_.bk;
  const bool trans = isA ? p_.transA : !p_.transB;
  // trans: the operand is stored K-outer (A: K x M; B: K x N).
  const std::string src = isA ? "%A" : "%B";
  const std::string type = isA ? memrefA() : memrefB();
  const int64_t extent = isA ? p_.m : p_.n;
  const std::string e = tmp(), r = tmp(), kk = tmp(), gr = tmp(), gk = tmp();
  const std::string inR = tmp(), inK = tmp(), in = tmp(), v = tmp();
  line(fmt::format("scf.for {} = %tid to {} step {} {{", e, constIndex(total),
                   constIndex(threads(q_))));
  line(fmt::format("  {} = arith.divui {}, {} : index", r, e,
                   constIndex(q_.bk)));
  line(fmt::format("  {} = arith.remui {}, {} : index", kk, e,
                   constIndex(q_.bk)));
  line(fmt::format("  {} = arith.addi {}, {} : index", gr, base, r));
  line(fmt::format("  {} = arith.addi {}, {} : index", gk, k0, kk));
  line(fmt::format("  {} = arith.cmpi ult, {}, {} : index", inR, gr,
                   constIndex(extent)));
  line(fmt::format("  {} = arith.cmpi ult, {}, {} : index", inK, gk,
                   constIndex(p_.k)));
  line(fmt::format("  {} = arith.andi {}, {} : i1", in, inR, inK));
  line(fmt::format("  {} = scf.if {} -> ({}) {{", v, in, elem_));
  const std::string x = tmp();
  if (trans) {
    line(fmt::format("    {} = memref.load {}[{}, {}] : {}", x, src, gk, gr,
                     type));
  } else {
    line(fmt::format("    {} = memref.load {}[{}, {}] : {}", x, src, gr, gk,
                     type));
  }
  line(fmt::format("    scf.yield {} : {}", x, elem_));
  line("  } else {");
  line(fmt::format("    scf.yield %zero_{} : {}", elem_, elem_));
  line("  }");
  line(fmt::format("  memref.store {}, {}[{}, {}] : {}", v, dst, r, kk,
                   smemType(rows)));
  line("}");
}

/// Two consecutive elements of a shared-memory tile row as one mma operand
/// register (i32 for bf16, vector<2xf16> for f16).
std::string Emitter::fragment(const std::string &smem, int64_t rows,
                              const std::string &r, const std::string &c) {
  const std::string v = tmp();
  line(fmt::format("{} = vector.load {}[{}, {}] : {}, vector<2x{}>", v, smem, r,
                   c, smemType(rows), elem_));
  if (p_.dtype == DType::F16) {
    return v;
  }
  const std::string b = tmp(), i = tmp();
  line(fmt::format("{} = vector.bitcast {} : vector<2xbf16> to vector<1xi32>",
                   b, v));
  line(fmt::format("{} = vector.extract {}[0] : i32 from vector<1xi32>", i, b));
  return i;
}

std::string Emitter::module() {
  const int64_t mi = q_.wm / 16, ni = q_.wn / 8;
  const int64_t warpsN = q_.bn / q_.wn;
  const int64_t tilesN = (p_.n + q_.bn - 1) / q_.bn;
  const int64_t naccs = mi * ni * 4;
  const std::string opType =
      p_.dtype == DType::BF16 ? "i32" : fmt::format("vector<2x{}>", elem_);

  // Thread, warp and tile coordinates.
  line("%bid = gpu.block_id x");
  line(fmt::format("%tm = arith.divui %bid, {} : index", constIndex(tilesN)));
  line(fmt::format("%tn = arith.remui %bid, {} : index", constIndex(tilesN)));
  line(fmt::format("%m0 = arith.muli %tm, {} : index", constIndex(q_.bm)));
  line(fmt::format("%n0 = arith.muli %tn, {} : index", constIndex(q_.bn)));
  line(fmt::format("%warp = arith.divui %tid, {} : index", constIndex(32)));
  line(fmt::format("%lane = arith.remui %tid, {} : index", constIndex(32)));
  line(fmt::format("%wr = arith.divui %warp, {} : index", constIndex(warpsN)));
  line(fmt::format("%wc = arith.remui %warp, {} : index", constIndex(warpsN)));
  line(fmt::format("%wm0 = arith.muli %wr, {} : index", constIndex(q_.wm)));
  line(fmt::format("%wn0 = arith.muli %wc, {} : index", constIndex(q_.wn)));
  line(fmt::format("%g = arith.divui %lane, {} : index", constIndex(4)));
  line(fmt::format("%tig = arith.remui %lane, {} : index", constIndex(4)));
  line(fmt::format("%k2 = arith.muli %tig, {} : index", constIndex(2)));

  // The K loop carries every accumulator (f32) of this thread.
  std::string iters, types, yields;
  for (int64_t i = 0; i < naccs; ++i) {
    iters += fmt::format("{}%acc{} = %zero_f32", i ? ", " : "", i);
    types += std::string(i ? ", " : "") + "f32";
  }
  line(fmt::format("%res:{} = scf.for %k0 = {} to {} step {} iter_args({}) "
                   "-> ({}) {{",
                   naccs, constIndex(0), constIndex(p_.k), constIndex(q_.bk),
                   iters, types));
  loadTile("%sa", q_.bm, true, "%k0", "%m0");
  loadTile("%sb", q_.bn, false, "%k0", "%n0");
  line("gpu.barrier");
  // acc names as they evolve through the unrolled k16 steps.
  std::vector<std::string> acc(static_cast<size_t>(naccs));
  for (int64_t i = 0; i < naccs; ++i) {
    acc[size_t(i)] = fmt::format("%acc{}", i);
  }
  for (int64_t kk = 0; kk < q_.bk / 16; ++kk) {
    const std::string cLo = tmp(), cHi = tmp();
    line(fmt::format("{} = arith.addi %k2, {} : index", cLo,
                     constIndex(kk * 16)));
    line(fmt::format("{} = arith.addi %k2, {} : index", cHi,
                     constIndex(kk * 16 + 8)));
    // A fragments: rows g and g+8 of each m16 block, K columns lo and hi.
    std::vector<std::vector<std::string>> af(static_cast<size_t>(mi));
    for (int64_t a = 0; a < mi; ++a) {
      const std::string r0 = tmp(), r1 = tmp();
      line(fmt::format("{} = arith.addi %wm0, %g : index", r0));
      const std::string rb = tmp();
      line(fmt::format("{} = arith.addi {}, {} : index", rb, r0,
                       constIndex(a * 16)));
      line(
          fmt::format("{} = arith.addi {}, {} : index", r1, rb, constIndex(8)));
      af[size_t(a)] = {
          fragment("%sa", q_.bm, rb, cLo), fragment("%sa", q_.bm, r1, cLo),
          fragment("%sa", q_.bm, rb, cHi), fragment("%sa", q_.bm, r1, cHi)};
    }
    for (int64_t b = 0; b < ni; ++b) {
      // B fragment: column (row of sb) g of the n8 block, K lo and hi.
      const std::string n0 = tmp(), nb = tmp();
      line(fmt::format("{} = arith.addi %wn0, %g : index", n0));
      line(fmt::format("{} = arith.addi {}, {} : index", nb, n0,
                       constIndex(b * 8)));
      const std::string b0 = fragment("%sb", q_.bn, nb, cLo);
      const std::string b1 = fragment("%sb", q_.bn, nb, cHi);
      for (int64_t a = 0; a < mi; ++a) {
        const size_t at = size_t((a * ni + b) * 4);
        const std::string d = tmp();
        line(fmt::format(
            "{} = nvvm.mma.sync A[{}, {}, {}, {}] B[{}, {}] C[{}, {}, {}, {}] "
            "{{layoutA = #nvvm.mma_layout<row>, layoutB = "
            "#nvvm.mma_layout<col>, multiplicandAPtxType = "
            "#nvvm.mma_type<{}>, multiplicandBPtxType = #nvvm.mma_type<{}>, "
            "shape = #nvvm.shape<m = 16, n = 8, k = 16>}} : ({}, {}, f32) -> "
            "!llvm.struct<(f32, f32, f32, f32)>",
            d, af[size_t(a)][0], af[size_t(a)][1], af[size_t(a)][2],
            af[size_t(a)][3], b0, b1, acc[at], acc[at + 1], acc[at + 2],
            acc[at + 3], elem_, elem_, opType, opType));
        for (int j = 0; j < 4; ++j) {
          const std::string x = tmp();
          line(fmt::format("{} = llvm.extractvalue {}[{}] : "
                           "!llvm.struct<(f32, f32, f32, f32)>",
                           x, d, j));
          acc[at + size_t(j)] = x;
        }
      }
    }
  }
  line("gpu.barrier");
  for (int64_t i = 0; i < naccs; ++i) {
    yields += (i ? ", " : "") + acc[size_t(i)];
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("}");

  // Epilogue: c0, c1 at row g, columns 2*tig + {0, 1}; c2, c3 at row g + 8.
  for (int64_t a = 0; a < mi; ++a) {
    for (int64_t b = 0; b < ni; ++b) {
      for (int j = 0; j < 4; ++j) {
        const size_t at = size_t((a * ni + b) * 4 + j);
        const std::string r = tmp(), rr = tmp(), c = tmp(), cc = tmp();
        line(fmt::format("{} = arith.addi %m0, %wm0 : index", r));
        const std::string r2 = tmp();
        line(fmt::format("{} = arith.addi {}, %g : index", r2, r));
        line(fmt::format("{} = arith.addi {}, {} : index", rr, r2,
                         constIndex(a * 16 + (j >= 2 ? 8 : 0))));
        line(fmt::format("{} = arith.addi %n0, %wn0 : index", c));
        const std::string c2 = tmp();
        line(fmt::format("{} = arith.addi {}, %k2 : index", c2, c));
        line(fmt::format("{} = arith.addi {}, {} : index", cc, c2,
                         constIndex(b * 8 + (j % 2))));
        const std::string inR = tmp(), inC = tmp(), in = tmp();
        line(fmt::format("{} = arith.cmpi ult, {}, {} : index", inR, rr,
                         constIndex(p_.m)));
        line(fmt::format("{} = arith.cmpi ult, {}, {} : index", inC, cc,
                         constIndex(p_.n)));
        line(fmt::format("{} = arith.andi {}, {} : i1", in, inR, inC));
        line(fmt::format("scf.if {} {{", in));
        const std::string s = tmp();
        line(fmt::format("  {} = arith.mulf %alpha, %res#{} : f32", s, at));
        const std::string old = tmp(), oldf = tmp(), bo = tmp(), sum = tmp();
        line(fmt::format("  {} = memref.load %C[{}, {}] : {}", old, rr, cc,
                         memrefC()));
        line(fmt::format("  {} = arith.extf {} : {} to f32", oldf, old, elem_));
        line(fmt::format("  {} = arith.mulf %beta, {} : f32", bo, oldf));
        // beta == 0 must not read C: NaN * 0 would poison the output.
        const std::string isZero = tmp(), pick = tmp(), out = tmp();
        line(fmt::format("  {} = arith.cmpf oeq, %beta, %zero_f32 : f32",
                         isZero));
        line(fmt::format("  {} = arith.addf {}, {} : f32", sum, s, bo));
        line(fmt::format("  {} = arith.select {}, {}, {} : f32", pick, isZero,
                         s, sum));
        line(fmt::format("  {} = arith.truncf {} : f32 to {}", out, pick,
                         elem_));
        line(fmt::format("  memref.store {}, %C[{}, {}] : {}", out, rr, cc,
                         memrefC()));
        line("}");
      }
    }
  }

  std::string consts;
  for (int64_t v : consts_) {
    consts += fmt::format("      %c{} = arith.constant {} : index\n", v, v);
  }
  const std::string features =
      arch_ == "sm_100a" ? "+ptx86" : "+ptx80"; // the PTX an arch needs
  return fmt::format(
      "// ktune cuda.gemm.mlir: {} bm={} bn={} wm={} wn={} bk={}\n"
      "module attributes {{gpu.container_module}} {{\n"
      "  gpu.module @kt [#nvvm.target<chip = \"{}\", features = \"{}\">] {{\n"
      "    gpu.func @kt_gemm(%A: {}, %B: {}, %C: {}, %alpha: f32, %beta: f32)"
      "\n        workgroup(%sa: {}, %sb: {})\n"
      "        kernel attributes {{known_block_size = array<i32: {}, 1, 1>}} "
      "{{\n"
      "      %tid = gpu.thread_id x\n"
      "      %zero_f32 = arith.constant 0.0 : f32\n"
      "      %zero_{} = arith.constant 0.0 : {}\n"
      "{}{}"
      "      gpu.return\n"
      "    }}\n"
      "  }}\n"
      "}}\n",
      p_.key(), q_.bm, q_.bn, q_.wm, q_.wn, q_.bk, arch_, features, memrefA(),
      memrefB(), memrefC(), smemType(q_.bm), smemType(q_.bn), threads(q_),
      elem_, elem_, consts, body_);
}

} // namespace

std::string kernelSource(const Params &q, const GemmProblem &p,
                         const std::string &arch) {
  return Emitter(q, p, arch).module();
}

} // namespace kt::mlirgemm
