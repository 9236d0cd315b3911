// The MLIR text of cuda.attention.mlir: flash attention with m16n8k16
// mma.sync (nvvm dialect) on warps of 32 lanes, specialised to one problem
// (static shapes, bare pointers), for the nvvm target of the arch.
//
// Each warp owns 16 query rows; lane = 4 g + t holds rows g and g + 8 and,
// in every n8 accumulator tile, columns 2t and 2t + 1. Q stays in registers
// as mma A fragments; each KV block is staged in shared memory ([key][d],
// rows padded); S = Q K^T per n8 tile of keys; the online softmax reduces
// row maxima over the quad (two xor shuffles); P's accumulators are packed
// into A fragments of the next product (two n8 tiles make one k16 step);
// O += P V with V's B fragments read from shared memory (element by element,
// or with ldmatrix: ldsm=1). With stages=2 the next block is fetched during
// the compute, through registers or with cp.async into a second buffer
// (async=1: AttentionMlirEmitter::stageTop).
#include "CudaAttentionMlirKernel.h"

#include "AttentionMlirEmitter.h"

#include <fmt/format.h>

#include <vector>

namespace kt::attnmlir {
namespace {

class Emitter : public attnmlirgpu::AttentionMlirEmitter {
public:
  Emitter(const Params &q, const AttentionProblem &p, const std::string &arch)
      : AttentionMlirEmitter(p, {rows(q), q.split, q.pack != 0, q.lazy != 0,
                                 q.stages, q.async != 0}),
        q_(q), arch_(arch) {
    opType_ = p.dtype == DType::BF16 ? "i32" : "vector<2xf16>";
  }
  std::string module();

private:
  std::string exp2(const std::string &x) override {
    const std::string r = tmp();
    line(fmt::format("{} = llvm.inline_asm \"ex2.approx.ftz.f32 $0, $1;\", "
                     "\"=f,f\" {} : (f32) -> f32",
                     r, x));
    return r;
  }
  std::string anyLane(const std::string &pred) override {
    const std::string mask = tmp(), r = tmp();
    line(fmt::format("{} = arith.constant -1 : i32", mask));
    line(fmt::format("{} = nvvm.vote.sync any {}, {} -> i1", r, mask, pred));
    return r;
  }
  const char *deviceScope() const override { return "device"; }
  /// A staged block, [key][d] with rows padded; with async a view of one
  /// of the two buffers (pairType()).
  std::string smemType() const {
    if (q_.async) {
      return fmt::format("memref<{}x{}x{}, strided<[{}, 1], offset: ?>, "
                         "#gpu.address_space<workgroup>>",
                         q_.kv, p_.d + 8, elem_, p_.d + 8);
    }
    return workgroupType(q_.kv, p_.d + 8);
  }
  std::string pairType() const {
    return fmt::format("memref<2x{}x{}x{}, #gpu.address_space<workgroup>>",
                       q_.kv, p_.d + 8, elem_);
  }
  /// Two consecutive 16-bit values as one mma operand register.
  std::string asOperand(const std::string &pair);
  std::string pack(const std::string &lo, const std::string &hi);
  /// acc[0..3] += A B: one m16n8k16 mma.sync, f32 accumulators.
  void mma(const std::string (&a)[4], const std::string &b0,
           const std::string &b1, std::string *acc);
  /// The four mma operands of one ldmatrix x4 (transposed or not) from the
  /// staged block `smem`, this lane giving the address of [row, col].
  std::vector<std::string> ldmatrix(const std::string &smem,
                                    const std::string &row,
                                    const std::string &col, bool transpose);

  const Params &q_;
  std::string arch_, opType_;
};

std::string Emitter::asOperand(const std::string &pair) {
  if (p_.dtype == DType::F16) {
    return pair;
  }
  const std::string b = tmp(), i = tmp();
  line(fmt::format("{} = vector.bitcast {} : vector<2xbf16> to vector<1xi32>",
                   b, pair));
  line(fmt::format("{} = vector.extract {}[0] : i32 from vector<1xi32>", i, b));
  return i;
}

std::string Emitter::pack(const std::string &lo, const std::string &hi) {
  const std::string a = tmp(), b = tmp(), v = tmp();
  line(fmt::format("{} = arith.truncf {} : f32 to {}", a, lo, elem_));
  line(fmt::format("{} = arith.truncf {} : f32 to {}", b, hi, elem_));
  line(fmt::format("{} = vector.from_elements {}, {} : vector<2x{}>", v, a, b,
                   elem_));
  return asOperand(v);
}

void Emitter::mma(const std::string (&a)[4], const std::string &b0,
                  const std::string &b1, std::string *acc) {
  const std::string d = tmp();
  line(fmt::format(
      "{} = nvvm.mma.sync A[{}, {}, {}, {}] B[{}, {}] C[{}, {}, {}, {}] "
      "{{layoutA = #nvvm.mma_layout<row>, layoutB = "
      "#nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<{}>, "
      "multiplicandBPtxType = #nvvm.mma_type<{}>, shape = "
      "#nvvm.shape<m = 16, n = 8, k = 16>}} : ({}, {}, f32) -> "
      "!llvm.struct<(f32, f32, f32, f32)>",
      d, a[0], a[1], a[2], a[3], b0, b1, acc[0], acc[1], acc[2], acc[3], elem_,
      elem_, opType_, opType_));
  for (int e = 0; e < 4; ++e) {
    acc[e] = tmp();
    line(fmt::format("{} = llvm.extractvalue {}[{}] : "
                     "!llvm.struct<(f32, f32, f32, f32)>",
                     acc[e], d, e));
  }
}

std::vector<std::string> Emitter::ldmatrix(const std::string &smem,
                                           const std::string &row,
                                           const std::string &col,
                                           bool transpose) {
  const std::string x = tmp();
  line(fmt::format("{} = nvgpu.ldmatrix {}[{}, {}] {{numTiles = 4 : i32, "
                   "transpose = {}}} : {} -> vector<4x2x{}>",
                   x, smem, row, col, transpose, smemType(), elem_));
  std::vector<std::string> r;
  for (int m = 0; m < 4; ++m) {
    const std::string v = tmp();
    line(fmt::format("{} = vector.extract {}[{}] : vector<2x{}> from "
                     "vector<4x2x{}>",
                     v, x, m, elem_, elem_));
    r.push_back(asOperand(v));
  }
  return r;
}

std::string Emitter::module() {
  const int64_t nt = q_.kv / 8; // n8 score tiles per block
  const int64_t dt = p_.d / 8;  // n8 output tiles
  const int64_t ks = p_.d / 16; // k16 steps of Q K^T

  // The CTA's (query tile, batch, head unit, split), heaviest causal tiles
  // first.
  tileCoordinates();
  line(fmt::format("%warp = arith.divui %tid, {} : index", c(32)));
  line(fmt::format("%lane = arith.remui %tid, {} : index", c(32)));
  line(fmt::format("%g = arith.divui %lane, {} : index", c(4)));
  line(fmt::format("%t4 = arith.remui %lane, {} : index", c(4)));
  line(fmt::format("%k2 = arith.muli %t4, {} : index", c(2)));
  if (q_.ldsm) {
    // ldmatrix x4: lanes 8 m .. 8 m + 7 give the addresses of matrix m's
    // eight rows. For K, matrix m is the k8 column block m of two k16
    // steps; for V, keys 8 (m % 2) on and the n8 output tile m / 2 on.
    line(fmt::format("%lr = arith.remui %lane, {} : index", c(8)));
    line(fmt::format("%lm = arith.divui %lane, {} : index", c(8)));
    line(fmt::format("%kc = arith.muli %lm, {} : index", c(8)));
    line(fmt::format("%lm2 = arith.remui %lm, {} : index", c(2)));
    line(fmt::format("%lmh = arith.divui %lm, {} : index", c(2)));
    line(fmt::format("%lm28 = arith.muli %lm2, {} : index", c(8)));
    line("%vk = arith.addi %lm28, %lr : index");
    line(fmt::format("%vc = arith.muli %lmh, {} : index", c(8)));
  }
  line(fmt::format("%w16 = arith.muli %warp, {} : index", c(16)));
  line("%rw = arith.addi %q0, %w16 : index");
  line("%r0 = arith.addi %rw, %g : index");
  line(fmt::format("%r1 = arith.addi %r0, {} : index", c(8)));
  line(fmt::format("%in0 = arith.cmpi ult, %r0, {} : index", c(unitRows())));
  line(fmt::format("%in1 = arith.cmpi ult, %r1, {} : index", c(unitRows())));
  // Rows past the unit's read row 0 (valid memory) and are never stored.
  line(fmt::format("%s0 = arith.select %in0, %r0, {} : index", c(0)));
  line(fmt::format("%s1 = arith.select %in1, %r1, {} : index", c(0)));
  const auto [pos0, head0] = rowPositionHead("%s0");
  const std::string qo0 = offset("%b", head0, pos0, false);
  const auto [pos1, head1] = rowPositionHead("%s1");
  const std::string qo1 = offset("%b", head1, pos1, false);
  line(fmt::format("%qo0 = arith.addi {}, {} : index", qo0, c(0)));
  line(fmt::format("%qo1 = arith.addi {}, {} : index", qo1, c(0)));

  // The first key each of the thread's rows may not see.
  line(fmt::format("%lim0 = arith.addi {}, {} : index",
                   keyLimit(rowPosition("%r0")), c(0)));
  line(fmt::format("%lim1 = arith.addi {}, {} : index",
                   keyLimit(rowPosition("%r1")), c(0)));

  // Q as A fragments, one set of four registers per k16 step of d: rows
  // r0 / r1, columns k2 and k2 + 8 of the step.
  std::vector<std::vector<std::string>> qa(static_cast<size_t>(ks));
  for (int64_t k = 0; k < ks; ++k) {
    const std::string lo = add("%k2", c(k * 16)),
                      hi = add("%k2", c(k * 16 + 8));
    auto load = [&](const std::string &base, const std::string &col) {
      const std::string v = tmp();
      line(fmt::format("{} = vector.load %Q[{}] : {}, vector<2x{}>", v,
                       add(base, col), flatType(p_.qElements()), elem_));
      return asOperand(v);
    };
    qa[size_t(k)] = {load("%qo0", lo), load("%qo1", lo), load("%qo0", hi),
                     load("%qo1", hi)};
  }

  // The KV blocks this CTA walks (a causal tile stops at its diagonal; a
  // split takes its share).
  const auto [blk0, blk1] = blockRange(q_.kv);

  // The KV loop carries the row maxima and sums and the output tiles.
  const int64_t no = dt * 4;
  std::string iters = "%m0 = %neg_inf, %m1 = %neg_inf, %l0 = %zero_f32, "
                      "%l1 = %zero_f32";
  std::string types = "f32, f32, f32, f32";
  for (int64_t i = 0; i < no; ++i) {
    iters += fmt::format(", %o{} = %zero_f32", i);
    types += ", f32";
  }
  const attnmlirgpu::KvBuffers buf{q_.kv,
                                   threads(q_),
                                   smemType(),
                                   "%sv",
                                   smemType(),
                                   false,
                                   q_.async ? pairType() : ""};
  stageFirst(blk0, blk1, buf);
  line(fmt::format("%res:{} = scf.for %blk = {} to {} step {} iter_args({}) "
                   "-> ({}) {{",
                   no + 4, blk0, blk1, c(1), iters, types));
  const attnmlirgpu::KvFetch fetched = stageTop(blk1, buf);
  const std::string key0 = mul("%blk", c(q_.kv));
  // S = Q K^T, one n8 tile of keys at a time.
  std::vector<std::vector<std::string>> s(static_cast<size_t>(nt));
  for (int64_t j = 0; j < nt; ++j) {
    const std::string krow = q_.ldsm ? "" : add("%g", c(j * 8));
    std::string acc[4] = {"%zero_f32", "%zero_f32", "%zero_f32", "%zero_f32"};
    std::vector<std::string> kb; // ldsm: two k16 steps' fragments at a time
    for (int64_t k = 0; k < ks; ++k) {
      // K's B fragments: key g of the tile, columns k2, k2 + 1 (b0) and
      // k2 + 8, k2 + 9 (b1) of the k16 step.
      std::string b0, b1;
      if (q_.ldsm) {
        if (k % 2 == 0) {
          kb = ldmatrix("%sk", add("%lr", c(j * 8)), add("%kc", c(k * 16)),
                        false);
        }
        b0 = kb[size_t(2 * (k % 2))];
        b1 = kb[size_t(2 * (k % 2) + 1)];
      } else {
        auto frag = [&](int64_t col) {
          const std::string v = tmp();
          line(fmt::format("{} = vector.load %sk[{}, {}] : {}, vector<2x{}>", v,
                           krow, add("%k2", c(col)), smemType(), elem_));
          return asOperand(v);
        };
        b0 = frag(k * 16);
        b1 = frag(k * 16 + 8);
      }
      mma({qa[size_t(k)][0], qa[size_t(k)][1], qa[size_t(k)][2],
           qa[size_t(k)][3]},
          b0, b1, acc);
    }
    // Masks: element e is row r0 (e < 2) or r1, key key0 + 8 j + k2 + e % 2.
    for (int e = 0; e < 4; ++e) {
      const std::string key = add(add(key0, "%k2"), c(j * 8 + e % 2));
      const std::string ok = tmp(), v = tmp();
      line(fmt::format("{} = arith.cmpi ult, {}, {} : index", ok, key,
                       e < 2 ? "%lim0" : "%lim1"));
      line(fmt::format("{} = arith.select {}, {}, %neg_inf : f32", v, ok,
                       acc[e]));
      s[size_t(j)].push_back(v);
    }
  }
  // Online softmax per row half. Lazy: the warp votes on moving its
  // maxima once both halves have their candidates (newMaxima()); eager
  // finishes each half as it goes.
  std::string base[2], alpha[2], vote;
  std::vector<std::string> mNew(2);
  auto baseAndFactor = [&](int half) {
    const std::string isInf = tmp();
    line(fmt::format("{} = arith.cmpf oeq, {}, %neg_inf : f32", isInf,
                     mNew[size_t(half)]));
    base[half] = tmp();
    line(fmt::format("{} = arith.select {}, %zero_f32, {} : f32", base[half],
                     isInf, mNew[size_t(half)]));
    alpha[half] = rescaleFactor(half ? "%m1" : "%m0", base[half], vote);
  };
  for (int half = 0; half < 2; ++half) {
    std::string mx = "%neg_inf";
    for (int64_t j = 0; j < nt; ++j) {
      for (int e = 2 * half; e < 2 * half + 2; ++e) {
        mx = fop("maximumf", mx, s[size_t(j)][size_t(e)]);
      }
    }
    mx = fop("maximumf", mx, shuffleXor(mx, 1, 32));
    mx = fop("maximumf", mx, shuffleXor(mx, 2, 32));
    const std::string scaled = fop("mulf", mx, "%scale");
    mNew[size_t(half)] = fop("maximumf", half ? "%m1" : "%m0", scaled);
    if (!q_.lazy) {
      baseAndFactor(half);
    }
  }
  if (q_.lazy) {
    vote = newMaxima({"%m0", "%m1"}, mNew);
    baseAndFactor(0);
    baseAndFactor(1);
  }
  // P = exp2(S * scale - base), the row sums, and P as A fragments.
  std::string lsum[2] = {fop("mulf", "%l0", alpha[0]),
                         fop("mulf", "%l1", alpha[1])};
  std::vector<std::vector<std::string>> pv(static_cast<size_t>(nt));
  for (int64_t j = 0; j < nt; ++j) {
    for (int e = 0; e < 4; ++e) {
      const std::string x = fop(
          "subf", fop("mulf", s[size_t(j)][size_t(e)], "%scale"), base[e / 2]);
      const std::string pe = exp2(x);
      lsum[e / 2] = fop("addf", lsum[e / 2], pe);
      pv[size_t(j)].push_back(pe);
    }
  }
  // O = O * alpha + P V (lazy: O untouched where the warp kept its maxima).
  std::vector<std::string> o, factor;
  for (int64_t i = 0; i < no; ++i) {
    o.push_back(fmt::format("%o{}", i));
    factor.push_back(alpha[(i % 4) / 2]);
  }
  o = rescale(o, factor, "f32", vote);
  for (int64_t u = 0; u < q_.kv / 16; ++u) {
    const std::vector<std::string> &a = pv[size_t(2 * u)];
    const std::vector<std::string> &b = pv[size_t(2 * u + 1)];
    const std::string pa[4] = {pack(a[0], a[1]), pack(a[2], a[3]),
                               pack(b[0], b[1]), pack(b[2], b[3])};
    // V's B fragments of n8 output tile t: keys k2, k2 + 1 (b0) and
    // k2 + 8, k2 + 9 (b1) of the k16 step, column g of the tile.
    std::string kLo, kLo1, kHi, kHi1;
    if (!q_.ldsm) {
      kLo = add("%k2", c(u * 16));
      kLo1 = add("%k2", c(u * 16 + 1));
      kHi = add("%k2", c(u * 16 + 8));
      kHi1 = add("%k2", c(u * 16 + 9));
    }
    std::vector<std::string> vb; // ldsm: two tiles' fragments at a time
    for (int64_t t = 0; t < dt; ++t) {
      std::string b0, b1;
      if (q_.ldsm) {
        if (t % 2 == 0) {
          vb = ldmatrix("%sv", add("%vk", c(u * 16)), add("%vc", c(t * 8)),
                        true);
        }
        b0 = vb[size_t(2 * (t % 2))];
        b1 = vb[size_t(2 * (t % 2) + 1)];
      } else {
        const std::string col = add("%g", c(t * 8));
        auto vfrag = [&](const std::string &r0, const std::string &r1) {
          const std::string x0 = tmp(), x1 = tmp(), v = tmp();
          line(fmt::format("{} = memref.load %sv[{}, {}] : {}", x0, r0, col,
                           smemType()));
          line(fmt::format("{} = memref.load %sv[{}, {}] : {}", x1, r1, col,
                           smemType()));
          line(fmt::format("{} = vector.from_elements {}, {} : vector<2x{}>", v,
                           x0, x1, elem_));
          return asOperand(v);
        };
        b0 = vfrag(kLo, kLo1);
        b1 = vfrag(kHi, kHi1);
      }
      mma(pa, b0, b1, &o[size_t(t * 4)]);
    }
  }
  line("gpu.barrier");
  stageBottom(fetched, buf);
  std::string yields =
      fmt::format("{}, {}, {}, {}", mNew[0], mNew[1], lsum[0], lsum[1]);
  for (int64_t i = 0; i < no; ++i) {
    yields += ", " + o[size_t(i)];
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("}");

  // Split kernels merge their partials first (the sums are still per
  // thread: the merge is linear in them).
  std::vector<attnmlirgpu::RowState> st(2);
  for (int half = 0; half < 2; ++half) {
    st[size_t(half)].m = fmt::format("%res#{}", half);
    st[size_t(half)].l = fmt::format("%res#{}", 2 + half);
    for (int64_t t = 0; t < dt; ++t) {
      for (int e = 0; e < 2; ++e) {
        st[size_t(half)].o.push_back(
            fmt::format("%res#{}", 4 + t * 4 + 2 * half + e));
      }
    }
  }
  const std::string writer = mergeSplits(st, threads(q_));

  // The row sums over the quad, then O / l (0 for a row without keys).
  std::string inv[2];
  for (int half = 0; half < 2; ++half) {
    std::string l = st[size_t(half)].l;
    l = fop("addf", l, shuffleXor(l, 1, 32));
    l = fop("addf", l, shuffleXor(l, 2, 32));
    const std::string pos = tmp(), r = tmp();
    line(fmt::format("{} = arith.cmpf ogt, {}, %zero_f32 : f32", pos, l));
    const std::string q = fop("divf", "%one_f32", l);
    line(fmt::format("{} = arith.select {}, {}, %zero_f32 : f32", r, pos, q));
    inv[half] = r;
  }
  for (int half = 0; half < 2; ++half) {
    line(fmt::format("scf.if {} {{", both(half ? "%in1" : "%in0", writer)));
    for (int64_t t = 0; t < dt; ++t) {
      const std::string x0 =
          fop("mulf", st[size_t(half)].o[size_t(2 * t)], inv[half]);
      const std::string x1 =
          fop("mulf", st[size_t(half)].o[size_t(2 * t + 1)], inv[half]);
      const std::string a = tmp(), b = tmp(), v = tmp();
      line(fmt::format("{} = arith.truncf {} : f32 to {}", a, x0, elem_));
      line(fmt::format("{} = arith.truncf {} : f32 to {}", b, x1, elem_));
      line(fmt::format("{} = vector.from_elements {}, {} : vector<2x{}>", v, a,
                       b, elem_));
      const std::string at = add(half ? "%qo1" : "%qo0", add("%k2", c(t * 8)));
      line(fmt::format("vector.store {}, %O[{}] : {}, vector<2x{}>", v, at,
                       flatType(p_.qElements()), elem_));
    }
    line("}");
  }

  const std::string features = arch_ == "sm_100a" ? "+ptx86" : "+ptx80";
  return finish(
      fmt::format("ktune cuda.attention.mlir: {} warps={} kv={}{}{}", p_.key(),
                  q_.warps, q_.kv, workText(), q_.ldsm ? " ldsm=1" : ""),
      fmt::format("#nvvm.target<chip = \"{}\", features = \"{}\">", arch_,
                  features),
      fmt::format("%sk{0}: {1} {{llvm.align = 16 : i64}}, %sv{0}: "
                  "{1} {{llvm.align = 16 : i64}}",
                  q_.async ? "b" : "", q_.async ? pairType() : smemType()),
      threads(q_));
}

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch) {
  return Emitter(q, p, arch).module();
}

} // namespace kt::attnmlir
