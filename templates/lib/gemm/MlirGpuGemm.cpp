#include "MlirGpuGemm.h"

#include <fmt/format.h>

namespace kt::mlirgpu {

GemmEmitter::GemmEmitter(const Tiling &t, const GemmProblem &p, int64_t lanes)
    : t_(t), p_(p), lanes_(lanes) {
  elem_ = p.dtype == DType::BF16 ? "bf16" : "f16";
}

std::string GemmEmitter::constIndex(int64_t v) {
  consts_.insert(v);
  return "%c" + std::to_string(v);
}

std::string GemmEmitter::memrefA() const {
  return fmt::format("memref<{}x{}x{}>", p_.transA ? p_.k : p_.m, p_.lda,
                     elem_);
}

std::string GemmEmitter::memrefB() const {
  return fmt::format("memref<{}x{}x{}>", p_.transB ? p_.n : p_.k, p_.ldb,
                     elem_);
}

std::string GemmEmitter::memrefC() const {
  return fmt::format("memref<{}x{}x{}>", p_.m, p_.ldc, cElem());
}

std::string GemmEmitter::cElem() const { return p_.outF32 ? "f32" : elem_; }

std::string GemmEmitter::smemType(int64_t rows) const {
  return fmt::format("memref<{}x{}x{}, #gpu.address_space<workgroup>>", rows,
                     t_.bk + 8, elem_);
}

void GemmEmitter::tileCoordinates() {
  const int64_t warpsN = t_.bn / t_.wn;
  const int64_t tilesN = (p_.n + t_.bn - 1) / t_.bn;
  line("%bid = gpu.block_id x");
  line(fmt::format("%tm = arith.divui %bid, {} : index", constIndex(tilesN)));
  line(fmt::format("%tn = arith.remui %bid, {} : index", constIndex(tilesN)));
  line(fmt::format("%m0 = arith.muli %tm, {} : index", constIndex(t_.bm)));
  line(fmt::format("%n0 = arith.muli %tn, {} : index", constIndex(t_.bn)));
  line(fmt::format("%warp = arith.divui %tid, {} : index", constIndex(lanes_)));
  line(fmt::format("%lane = arith.remui %tid, {} : index", constIndex(lanes_)));
  line(fmt::format("%wr = arith.divui %warp, {} : index", constIndex(warpsN)));
  line(fmt::format("%wc = arith.remui %warp, {} : index", constIndex(warpsN)));
  line(fmt::format("%wm0 = arith.muli %wr, {} : index", constIndex(t_.wm)));
  line(fmt::format("%wn0 = arith.muli %wc, {} : index", constIndex(t_.wn)));
}

void GemmEmitter::loadTile(const std::string &dst, int64_t rows, bool isA,
                           const std::string &k0, const std::string &base) {
  const int64_t total = rows * t_.bk;
  // trans: the operand is stored K-outer (A: K x M; B: K x N).
  const bool trans = isA ? p_.transA : !p_.transB;
  const std::string src = isA ? "%A" : "%B";
  const std::string type = isA ? memrefA() : memrefB();
  const int64_t extent = isA ? p_.m : p_.n;
  const std::string e = tmp(), r = tmp(), kk = tmp(), gr = tmp(), gk = tmp();
  const std::string inR = tmp(), inK = tmp(), in = tmp(), v = tmp();
  line(fmt::format("scf.for {} = %tid to {} step {} {{", e, constIndex(total),
                   constIndex(threads(t_, lanes_))));
  line(fmt::format("  {} = arith.divui {}, {} : index", r, e,
                   constIndex(t_.bk)));
  line(fmt::format("  {} = arith.remui {}, {} : index", kk, e,
                   constIndex(t_.bk)));
  line(fmt::format("  {} = arith.addi {}, {} : index", gr, base, r));
  line(fmt::format("  {} = arith.addi {}, {} : index", gk, k0, kk));
  line(fmt::format("  {} = arith.cmpi ult, {}, {} : index", inR, gr,
                   constIndex(extent)));
  line(fmt::format("  {} = arith.cmpi ult, {}, {} : index", inK, gk,
                   constIndex(p_.k)));
  line(fmt::format("  {} = arith.andi {}, {} : i1", in, inR, inK));
  line(fmt::format("  {} = scf.if {} -> ({}) {{", v, in, elem_));
  const std::string x = tmp();
  line(fmt::format("    {} = memref.load {}[{}, {}] : {}", x, src,
                   trans ? gk : gr, trans ? gr : gk, type));
  line(fmt::format("    scf.yield {} : {}", x, elem_));
  line("  } else {");
  line(fmt::format("    scf.yield %zero_{} : {}", elem_, elem_));
  line("  }");
  line(fmt::format("  memref.store {}, {}[{}, {}] : {}", v, dst, r, kk,
                   smemType(rows)));
  line("}");
}

void GemmEmitter::storeC(const std::string &v, const std::string &rowLane,
                         int64_t dr, const std::string &colLane, int64_t dc) {
  const std::string r = tmp(), r2 = tmp(), rr = tmp();
  const std::string c = tmp(), c2 = tmp(), cc = tmp();
  line(fmt::format("{} = arith.addi %m0, %wm0 : index", r));
  line(fmt::format("{} = arith.addi {}, {} : index", r2, r, rowLane));
  line(fmt::format("{} = arith.addi {}, {} : index", rr, r2, constIndex(dr)));
  line(fmt::format("{} = arith.addi %n0, %wn0 : index", c));
  line(fmt::format("{} = arith.addi {}, {} : index", c2, c, colLane));
  line(fmt::format("{} = arith.addi {}, {} : index", cc, c2, constIndex(dc)));
  const std::string inR = tmp(), inC = tmp(), in = tmp();
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", inR, rr,
                   constIndex(p_.m)));
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", inC, cc,
                   constIndex(p_.n)));
  line(fmt::format("{} = arith.andi {}, {} : i1", in, inR, inC));
  line(fmt::format("scf.if {} {{", in));
  const std::string s = tmp(), out = tmp();
  line(fmt::format("  {} = arith.mulf %alpha, {} : f32", s, v));
  // beta == 0 must not read C: NaN * 0 would poison the output.
  const std::string isZero = tmp(), mixed = tmp();
  line(fmt::format("  {} = arith.cmpf oeq, %beta, %zero_f32 : f32", isZero));
  line(fmt::format("  {} = scf.if {} -> (f32) {{", mixed, isZero));
  line(fmt::format("    scf.yield {} : f32", s));
  line("  } else {");
  const std::string old = tmp(), oldf = tmp(), bo = tmp(), sum = tmp();
  line(fmt::format("    {} = memref.load %C[{}, {}] : {}", old, rr, cc,
                   memrefC()));
  // An f32 C (outF32) is read and written as it is: no widening, no
  // rounding.
  if (!p_.outF32) {
    line(fmt::format("    {} = arith.extf {} : {} to f32", oldf, old, elem_));
  }
  line(fmt::format("    {} = arith.mulf %beta, {} : f32", bo,
                   p_.outF32 ? old : oldf));
  line(fmt::format("    {} = arith.addf {}, {} : f32", sum, s, bo));
  line(fmt::format("    scf.yield {} : f32", sum));
  line("  }");
  if (!p_.outF32) {
    line(fmt::format("  {} = arith.truncf {} : f32 to {}", out, mixed, elem_));
  }
  line(fmt::format("  memref.store {}, %C[{}, {}] : {}",
                   p_.outF32 ? mixed : out, rr, cc, memrefC()));
  line("}");
}

std::string GemmEmitter::finish(const std::string &header,
                                const std::string &targetAttr) {
  std::string consts;
  for (int64_t v : consts_) {
    consts += fmt::format("      %c{} = arith.constant {} : index\n", v, v);
  }
  return fmt::format(
      "// {}: {} bm={} bn={} wm={} wn={} bk={}\n"
      "module attributes {{gpu.container_module}} {{\n"
      "  gpu.module @kt [{}] {{\n"
      "    gpu.func @kt_gemm(%A: {}, %B: {}, %C: {}, %alpha: f32, %beta: f32)"
      "\n        workgroup(%sa: {} {{llvm.align = 16 : i64}}, %sb: {} "
      "{{llvm.align = 16 : i64}})\n"
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
      header, p_.key(), t_.bm, t_.bn, t_.wm, t_.wn, t_.bk, targetAttr,
      memrefA(), memrefB(), memrefC(), smemType(t_.bm), smemType(t_.bn),
      threads(t_, lanes_), elem_, elem_, consts, body_);
}

} // namespace kt::mlirgpu
