// The MLIR text of cuda.gemm.mlir: the shared GPU GEMM skeleton
// (MlirGpuGemm.h) with NVVM's mma.sync m16n8k16 on warps of 32 lanes, for
// the nvvm target of the arch.
#include "CudaGemmMlirKernel.h"

#include <fmt/format.h>

#include <vector>

namespace kt::mlirgemm {
namespace {

class NvvmEmitter : public mlirgpu::GemmEmitter {
public:
  NvvmEmitter(const mlirgpu::Tiling &t, const GemmProblem &p,
              const std::string &arch)
      : GemmEmitter(t, p, kWarp), arch_(arch) {}
  std::string module();

private:
  std::string fragment(const std::string &smem, int64_t rows,
                       const std::string &r, const std::string &c);
  std::string arch_;
};

/// Two consecutive elements of a shared-memory tile row as one mma operand
/// register (i32 for bf16, vector<2xf16> for f16).
std::string NvvmEmitter::fragment(const std::string &smem, int64_t rows,
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

std::string NvvmEmitter::module() {
  const int64_t mi = t_.wm / 16, ni = t_.wn / 8;
  const int64_t naccs = mi * ni * 4;
  const std::string opType =
      p_.dtype == DType::BF16 ? "i32" : fmt::format("vector<2x{}>", elem_);

  tileCoordinates();
  // mma.sync fragments: group g = lane / 4 (rows), k2 = 2 * (lane % 4).
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
                   naccs, constIndex(0), constIndex(p_.k), constIndex(t_.bk),
                   iters, types));
  loadTile("%sa", t_.bm, true, "%k0", "%m0");
  loadTile("%sb", t_.bn, false, "%k0", "%n0");
  line("gpu.barrier");
  // acc names as they evolve through the unrolled k16 steps.
  std::vector<std::string> acc(static_cast<size_t>(naccs));
  for (int64_t i = 0; i < naccs; ++i) {
    acc[size_t(i)] = fmt::format("%acc{}", i);
  }
  for (int64_t kk = 0; kk < t_.bk / 16; ++kk) {
    const std::string cLo = tmp(), cHi = tmp();
    line(fmt::format("{} = arith.addi %k2, {} : index", cLo,
                     constIndex(kk * 16)));
    line(fmt::format("{} = arith.addi %k2, {} : index", cHi,
                     constIndex(kk * 16 + 8)));
    // A fragments: rows g and g+8 of each m16 block, K columns lo and hi.
    std::vector<std::vector<std::string>> af(static_cast<size_t>(mi));
    for (int64_t a = 0; a < mi; ++a) {
      const std::string r0 = tmp(), rb = tmp(), r1 = tmp();
      line(fmt::format("{} = arith.addi %wm0, %g : index", r0));
      line(fmt::format("{} = arith.addi {}, {} : index", rb, r0,
                       constIndex(a * 16)));
      line(
          fmt::format("{} = arith.addi {}, {} : index", r1, rb, constIndex(8)));
      af[size_t(a)] = {
          fragment("%sa", t_.bm, rb, cLo), fragment("%sa", t_.bm, r1, cLo),
          fragment("%sa", t_.bm, rb, cHi), fragment("%sa", t_.bm, r1, cHi)};
    }
    for (int64_t b = 0; b < ni; ++b) {
      // B fragment: column (row of sb) g of the n8 block, K lo and hi.
      const std::string n0 = tmp(), nb = tmp();
      line(fmt::format("{} = arith.addi %wn0, %g : index", n0));
      line(fmt::format("{} = arith.addi {}, {} : index", nb, n0,
                       constIndex(b * 8)));
      const std::string b0 = fragment("%sb", t_.bn, nb, cLo);
      const std::string b1 = fragment("%sb", t_.bn, nb, cHi);
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

  // Epilogue: c0, c1 at row g, columns k2 + {0, 1}; c2, c3 at row g + 8.
  for (int64_t a = 0; a < mi; ++a) {
    for (int64_t b = 0; b < ni; ++b) {
      for (int j = 0; j < 4; ++j) {
        storeC(fmt::format("%res#{}", (a * ni + b) * 4 + j), "%g",
               a * 16 + (j >= 2 ? 8 : 0), "%k2", b * 8 + (j % 2));
      }
    }
  }
  // sm_100a needs PTX 8.6, sm_90a 8.0.
  const std::string features = arch_ == "sm_100a" ? "+ptx86" : "+ptx80";
  return finish("ktune cuda.gemm.mlir",
                fmt::format("#nvvm.target<chip = \"{}\", features = \"{}\">",
                            arch_, features));
}

} // namespace

std::string kernelSource(const mlirgpu::Tiling &t, const GemmProblem &p,
                         const std::string &arch) {
  return NvvmEmitter(t, p, arch).module();
}

} // namespace kt::mlirgemm
