// The MLIR text of hip.gemm.mlir: the shared GPU GEMM skeleton
// (MlirGpuGemm.h) with amdgpu.mfma 16x16 blocks on waves of 64 lanes, for
// the rocdl target of the arch.
#include "HipGemmMlirKernel.h"

#include <fmt/format.h>

#include <vector>

namespace kt::hipmlir {
namespace {

class RocdlEmitter : public mlirgpu::GemmEmitter {
public:
  RocdlEmitter(const mlirgpu::Tiling &t, const GemmProblem &p,
               const std::string &arch)
      : GemmEmitter(t, p, 64), arch_(arch) {}
  std::string module();

private:
  std::string arch_;
};

std::string RocdlEmitter::module() {
  const int64_t mi = t_.wm / 16, ni = t_.wn / 16;
  const int64_t km = mfmaK(arch_), kv = km / 4;
  const std::string frag = fmt::format("vector<{}x{}>", kv, elem_);
  const std::string accType = "vector<4xf32>";

  tileCoordinates();
  // MFMA 16x16: lane l reads row (A) / column (B) l % 16 and K values
  // (l / 16) * kv + [0, kv); it holds rows (l / 16) * 4 + [0, 4) of column
  // l % 16 of the result.
  line(fmt::format("%l16 = arith.remui %lane, {} : index", constIndex(16)));
  line(fmt::format("%lq = arith.divui %lane, {} : index", constIndex(16)));
  line(fmt::format("%lk = arith.muli %lq, {} : index", constIndex(kv)));
  line(fmt::format("%lq4 = arith.muli %lq, {} : index", constIndex(4)));
  line(fmt::format("%zero_v4 = arith.constant dense<0.0> : {}", accType));

  const int64_t nblocks = mi * ni;
  std::string iters, types, yields;
  for (int64_t i = 0; i < nblocks; ++i) {
    iters += fmt::format("{}%acc{} = %zero_v4", i ? ", " : "", i);
    types += std::string(i ? ", " : "") + accType;
  }
  line(fmt::format("%res:{} = scf.for %k0 = {} to {} step {} iter_args({}) "
                   "-> ({}) {{",
                   nblocks, constIndex(0), constIndex(p_.k), constIndex(t_.bk),
                   iters, types));
  loadTile("%sa", t_.bm, true, "%k0", "%m0");
  loadTile("%sb", t_.bn, false, "%k0", "%n0");
  line("gpu.barrier");
  std::vector<std::string> acc(static_cast<size_t>(nblocks));
  for (int64_t i = 0; i < nblocks; ++i) {
    acc[size_t(i)] = fmt::format("%acc{}", i);
  }
  for (int64_t kk = 0; kk < t_.bk / km; ++kk) {
    const std::string k = tmp();
    line(
        fmt::format("{} = arith.addi %lk, {} : index", k, constIndex(kk * km)));
    std::vector<std::string> af(static_cast<size_t>(mi)),
        bf(static_cast<size_t>(ni));
    for (int64_t a = 0; a < mi; ++a) {
      const std::string r0 = tmp(), r = tmp(), v = tmp();
      line(fmt::format("{} = arith.addi %wm0, %l16 : index", r0));
      line(fmt::format("{} = arith.addi {}, {} : index", r, r0,
                       constIndex(a * 16)));
      line(fmt::format("{} = vector.load %sa[{}, {}] : {}, {}", v, r, k,
                       smemType(t_.bm), frag));
      af[size_t(a)] = v;
    }
    for (int64_t b = 0; b < ni; ++b) {
      const std::string n0 = tmp(), n = tmp(), v = tmp();
      line(fmt::format("{} = arith.addi %wn0, %l16 : index", n0));
      line(fmt::format("{} = arith.addi {}, {} : index", n, n0,
                       constIndex(b * 16)));
      line(fmt::format("{} = vector.load %sb[{}, {}] : {}, {}", v, n, k,
                       smemType(t_.bn), frag));
      bf[size_t(b)] = v;
    }
    for (int64_t a = 0; a < mi; ++a) {
      for (int64_t b = 0; b < ni; ++b) {
        const size_t at = size_t(a * ni + b);
        const std::string d = tmp();
        line(fmt::format("{} = amdgpu.mfma 16x16x{} {} * {} + {} blgp = none "
                         ": {}, {}, {}",
                         d, km, af[size_t(a)], bf[size_t(b)], acc[at], frag,
                         frag, accType));
        acc[at] = d;
      }
    }
  }
  line("gpu.barrier");
  for (int64_t i = 0; i < nblocks; ++i) {
    yields += (i ? ", " : "") + acc[size_t(i)];
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("}");

  for (int64_t a = 0; a < mi; ++a) {
    for (int64_t b = 0; b < ni; ++b) {
      for (int j = 0; j < 4; ++j) {
        const std::string e = tmp();
        line(fmt::format("{} = vector.extract %res#{}[{}] : f32 from {}", e,
                         a * ni + b, j, accType));
        storeC(e, "%lq4", a * 16 + j, "%l16", b * 16);
      }
    }
  }
  return finish("ktune hip.gemm.mlir",
                fmt::format("#rocdl.target<chip = \"{}\">", arch_));
}

} // namespace

std::string kernelSource(const mlirgpu::Tiling &t, const GemmProblem &p,
                         const std::string &arch) {
  return RocdlEmitter(t, p, arch).module();
}

} // namespace kt::hipmlir
