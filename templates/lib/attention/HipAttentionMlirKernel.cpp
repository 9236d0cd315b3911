// The MLIR text of hip.attention.mlir: flash attention with amdgpu.mfma
// 16x16 blocks on waves of 64 lanes, specialised to one problem (static
// shapes, bare pointers), for the rocdl target of the arch. As in
// hip.attention.mfma, the products are transposed (S^T = K Q^T,
// O^T = V^T P^T) so every accumulator of a lane belongs to its query
// (lane % 16): per-lane softmax statistics, and the scores' accumulators
// are P's operand for the next MFMA (keys in a fixed order V^T follows).
#include "HipAttentionMlirKernel.h"

#include "AttentionMlirEmitter.h"

#include <fmt/format.h>

#include <vector>

namespace kt::hipattnmlir {
namespace {

class Emitter : public attnmlirgpu::AttentionMlirEmitter {
public:
  Emitter(const Params &q, const AttentionProblem &p, const std::string &arch)
      : AttentionMlirEmitter(
            p, {rows(q), q.split, q.pack != 0, q.lazy != 0, q.stages}),
        q_(q), arch_(arch), km_(arch == "gfx950" ? 32 : 16), vals_(km_ / 4) {
    frag_ = fmt::format("vector<{}x{}>", vals_, elem_);
  }
  std::string module();

private:
  const char *deviceScope() const override { return "agent"; }
  std::string anyLane(const std::string &pred) override {
    const std::string ballot = tmp(), zero = tmp(), r = tmp();
    line(fmt::format("{} = rocdl.ballot {} : i64", ballot, pred));
    line(fmt::format("{} = arith.constant 0 : i64", zero));
    line(fmt::format("{} = arith.cmpi ne, {}, {} : i64", r, ballot, zero));
    return r;
  }
  std::string exp2(const std::string &x) override {
    const std::string r = tmp();
    // v_exp_f32 (llvm.intr.exp2 is reserved by the ROCDL lowering).
    line(fmt::format("{} = llvm.call_intrinsic \"llvm.amdgcn.exp2\"({}) : "
                     "(f32) -> f32",
                     r, x));
    return r;
  }
  std::string kType() const { return workgroupType(q_.kv, p_.d + 8); }
  std::string vType() const { return workgroupType(p_.d, q_.kv + 8); }

  const Params &q_;
  std::string arch_;
  const int64_t km_, vals_;
  std::string frag_;
};

std::string Emitter::module() {
  const int64_t tb = q_.kv / 16; // 16-key score blocks
  const int64_t db = p_.d / 16;  // 16-wide output blocks
  const int64_t ds = p_.d / km_; // MFMAs along d per score block
  const std::string acc = "vector<4xf32>";

  tileCoordinates();
  line(fmt::format("%wave = arith.divui %tid, {} : index", c(64)));
  line(fmt::format("%lane = arith.remui %tid, {} : index", c(64)));
  line(fmt::format("%l16 = arith.remui %lane, {} : index", c(16)));
  line(fmt::format("%lq = arith.divui %lane, {} : index", c(16)));
  line(fmt::format("%lk = arith.muli %lq, {} : index", c(vals_)));
  line(fmt::format("%lq4 = arith.muli %lq, {} : index", c(4)));
  line(fmt::format("%w16 = arith.muli %wave, {} : index", c(16)));
  line("%qw = arith.addi %q0, %w16 : index");
  line("%row = arith.addi %qw, %l16 : index");
  line(fmt::format("%in = arith.cmpi ult, %row, {} : index", c(unitRows())));
  line(fmt::format("%srow = arith.select %in, %row, {} : index", c(0)));
  const auto [pos, head] = rowPositionHead("%srow");
  line(fmt::format("%qo = arith.addi {}, {} : index",
                   offset("%b", head, pos, false), c(0)));
  line(fmt::format("%zero_v4 = arith.constant dense<0.0> : {}", acc));
  // The lane's query: the first key it may not see.
  const std::string lim = keyLimit(rowPosition("%row"));
  // Q as B fragments of S^T = K Q^T: d values kk * km + (lane / 16) *
  // vals + [0, vals) of the lane's query.
  std::vector<std::string> qf;
  for (int64_t kk = 0; kk < ds; ++kk) {
    const std::string v = tmp();
    line(fmt::format("{} = vector.load %Q[{}] : {}, {}", v,
                     add("%qo", add("%lk", c(kk * km_))),
                     flatType(p_.qElements()), frag_));
    qf.push_back(v);
  }
  const auto [blk0, blk1] = blockRange(q_.kv);

  std::string iters = "%m = %neg_inf, %l = %zero_f32", types = "f32, f32";
  for (int64_t i = 0; i < db; ++i) {
    iters += fmt::format(", %o{} = %zero_v4", i);
    types += ", " + acc;
  }
  const attnmlirgpu::KvBuffers buf{q_.kv,   threads(q_), kType(), "%svt",
                                   vType(), true,        ""};
  stageFirst(blk0, blk1, buf);
  line(fmt::format("%res:{} = scf.for %blk = {} to {} step {} iter_args({}) "
                   "-> ({}) {{",
                   db + 2, blk0, blk1, c(1), iters, types));
  const attnmlirgpu::KvFetch fetched = stageTop(blk1, buf);
  const std::string key0 = mul("%blk", c(q_.kv));
  // S^T blocks: element r of block t is key key0 + 16 t + (lane / 16) * 4
  // + r of the lane's query.
  std::vector<std::vector<std::string>> s(static_cast<size_t>(tb));
  for (int64_t t = 0; t < tb; ++t) {
    std::string a = "%zero_v4";
    const std::string krow = add("%l16", c(t * 16));
    for (int64_t kk = 0; kk < ds; ++kk) {
      const std::string f = tmp(), d = tmp();
      line(fmt::format("{} = vector.load %sk[{}, {}] : {}, {}", f, krow,
                       add("%lk", c(kk * km_)), kType(), frag_));
      line(fmt::format("{} = amdgpu.mfma 16x16x{} {} * {} + {} blgp = none : "
                       "{}, {}, {}",
                       d, km_, f, qf[size_t(kk)], a, frag_, frag_, acc));
      a = d;
    }
    for (int r = 0; r < 4; ++r) {
      const std::string x = tmp(), ok = tmp(), m = tmp();
      line(fmt::format("{} = vector.extract {}[{}] : f32 from {}", x, a, r,
                       acc));
      const std::string key = add(add(key0, "%lq4"), c(t * 16 + r));
      line(fmt::format("{} = arith.cmpi ult, {}, {} : index", ok, key, lim));
      line(fmt::format("{} = arith.select {}, {}, %neg_inf : f32", m, ok, x));
      s[size_t(t)].push_back(m);
    }
  }
  std::string mx = "%neg_inf";
  for (int64_t t = 0; t < tb; ++t) {
    for (int r = 0; r < 4; ++r) {
      mx = fop("maximumf", mx, s[size_t(t)][size_t(r)]);
    }
  }
  mx = fop("maximumf", mx, shuffleXor(mx, 16, 64));
  mx = fop("maximumf", mx, shuffleXor(mx, 32, 64));
  // Lazy: the wave votes on moving its maxima (newMaxima()).
  std::vector<std::string> next = {
      fop("maximumf", "%m", fop("mulf", mx, "%scale"))};
  const std::string vote = newMaxima({"%m"}, next);
  const std::string isInf = tmp(), base = tmp();
  line(fmt::format("{} = arith.cmpf oeq, {}, %neg_inf : f32", isInf, next[0]));
  line(fmt::format("{} = arith.select {}, %zero_f32, {} : f32", base, isInf,
                   next[0]));
  const std::string alpha = rescaleFactor("%m", base, vote);
  std::string l = fop("mulf", "%l", alpha);
  std::vector<std::vector<std::string>> pb(static_cast<size_t>(tb));
  for (int64_t t = 0; t < tb; ++t) {
    for (int r = 0; r < 4; ++r) {
      const std::string pe = exp2(
          fop("subf", fop("mulf", s[size_t(t)][size_t(r)], "%scale"), base));
      l = fop("addf", l, pe);
      const std::string h = tmp();
      line(fmt::format("{} = arith.truncf {} : f32 to {}", h, pe, elem_));
      pb[size_t(t)].push_back(h);
    }
  }
  const std::string alphaV = tmp();
  line(fmt::format("{} = vector.broadcast {} : f32 to {}", alphaV, alpha, acc));
  // O^T = O^T * alpha (lazy: untouched where the wave kept its maxima).
  std::vector<std::string> o;
  for (int64_t i = 0; i < db; ++i) {
    o.push_back(fmt::format("%o{}", i));
  }
  o = rescale(o, std::vector<std::string>(o.size(), alphaV), acc, vote);
  // O^T += V^T P^T, km keys per MFMA: P's fragment is the lane's scores of
  // km / 16 blocks (keys 16 h + (lane / 16) * 4 + [0, 4) for block h of the
  // step), V^T's reads the same keys of row d.
  for (int64_t u = 0; u < q_.kv / km_; ++u) {
    std::string elems;
    for (int64_t h = 0; h < km_ / 16; ++h) {
      for (int r = 0; r < 4; ++r) {
        elems += (elems.empty() ? "" : ", ") +
                 pb[size_t(u * (km_ / 16) + h)][size_t(r)];
      }
    }
    const std::string pf = tmp();
    line(fmt::format("{} = vector.from_elements {} : {}", pf, elems, frag_));
    for (int64_t i = 0; i < db; ++i) {
      const std::string drow = add("%l16", c(i * 16));
      std::vector<std::string> parts;
      for (int64_t h = 0; h < km_ / 16; ++h) {
        const std::string v = tmp();
        line(fmt::format("{} = vector.load %svt[{}, {}] : {}, vector<4x{}>", v,
                         drow, add("%lq4", c(u * km_ + h * 16)), vType(),
                         elem_));
        parts.push_back(v);
      }
      std::string vf = parts[0];
      if (parts.size() == 2) {
        vf = tmp();
        line(fmt::format("{} = vector.shuffle {}, {} [0, 1, 2, 3, 4, 5, 6, 7] "
                         ": vector<4x{}>, vector<4x{}>",
                         vf, parts[0], parts[1], elem_, elem_));
      }
      const std::string d = tmp();
      line(fmt::format("{} = amdgpu.mfma 16x16x{} {} * {} + {} blgp = none : "
                       "{}, {}, {}",
                       d, km_, vf, pf, o[size_t(i)], frag_, frag_, acc));
      o[size_t(i)] = d;
    }
  }
  line("gpu.barrier");
  stageBottom(fetched, buf);
  std::string yields = next[0] + ", " + l;
  for (int64_t i = 0; i < db; ++i) {
    yields += ", " + o[size_t(i)];
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("}");

  // Split kernels merge their partials first (the sums are still per
  // lane: the merge is linear in them).
  std::vector<attnmlirgpu::RowState> st(1);
  st[0].m = "%res#0";
  st[0].l = "%res#1";
  for (int64_t i = 0; i < db && q_.split > 1; ++i) {
    for (int r = 0; r < 4; ++r) {
      const std::string x = tmp();
      line(fmt::format("{} = vector.extract %res#{}[{}] : f32 from {}", x,
                       2 + i, r, acc));
      st[0].o.push_back(x);
    }
  }
  const std::string writer = mergeSplits(st, threads(q_));
  std::vector<std::string> out;
  for (int64_t i = 0; i < db; ++i) {
    if (q_.split == 1) {
      out.push_back(fmt::format("%res#{}", 2 + i));
      continue;
    }
    out.push_back(tmp());
    line(fmt::format("{} = vector.from_elements {}, {}, {}, {} : {}",
                     out.back(), st[0].o[size_t(4 * i)],
                     st[0].o[size_t(4 * i + 1)], st[0].o[size_t(4 * i + 2)],
                     st[0].o[size_t(4 * i + 3)], acc));
  }

  // l over the four lanes of the query, then O / l (0 without keys).
  std::string lt = fop("addf", st[0].l, shuffleXor(st[0].l, 16, 64));
  lt = fop("addf", lt, shuffleXor(lt, 32, 64));
  const std::string positive = tmp(), inv = tmp(), invV = tmp();
  line(fmt::format("{} = arith.cmpf ogt, {}, %zero_f32 : f32", positive, lt));
  line(fmt::format("{} = arith.select {}, {}, %zero_f32 : f32", inv, positive,
                   fop("divf", "%one_f32", lt)));
  line(fmt::format("{} = vector.broadcast {} : f32 to {}", invV, inv, acc));
  line(fmt::format("scf.if {} {{", both("%in", writer)));
  for (int64_t i = 0; i < db; ++i) {
    const std::string x = tmp(), h = tmp();
    line(fmt::format("{} = arith.mulf {}, {} : {}", x, out[size_t(i)], invV,
                     acc));
    line(fmt::format("{} = arith.truncf {} : {} to vector<4x{}>", h, x, acc,
                     elem_));
    line(fmt::format("vector.store {}, %O[{}] : {}, vector<4x{}>", h,
                     add("%qo", add("%lq4", c(i * 16))),
                     flatType(p_.qElements()), elem_));
  }
  line("}");

  return finish(
      fmt::format("ktune hip.attention.mlir: {} on {} waves={} kv={}{}",
                  p_.key(), arch_, q_.waves, q_.kv, workText()),
      fmt::format("#rocdl.target<chip = \"{}\">", arch_),
      fmt::format("%sk: {} {{llvm.align = 16 : i64}}, %svt: {} "
                  "{{llvm.align = 16 : i64}}",
                  kType(), vType()),
      threads(q_));
}

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch) {
  return Emitter(q, p, arch).module();
}

} // namespace kt::hipattnmlir
