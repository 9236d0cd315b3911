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
// O += P V with V's B fragments read from shared memory.
#include "CudaAttentionMlirKernel.h"

#include <fmt/format.h>

#include <set>
#include <vector>

namespace kt::attnmlir {
namespace {

class Emitter {
public:
  Emitter(const Params &q, const AttentionProblem &p, const std::string &arch)
      : q_(q), p_(p), arch_(arch) {
    elem_ = p.dtype == DType::BF16 ? "bf16" : "f16";
    opType_ = p.dtype == DType::BF16 ? "i32" : "vector<2xf16>";
  }
  std::string module();

private:
  std::string tmp() { return "%v" + std::to_string(next_++); }
  void line(const std::string &s) { body_ += "      " + s + "\n"; }
  std::string c(int64_t v) {
    consts_.insert(v);
    return "%c" + std::to_string(v);
  }
  std::string add(const std::string &a, const std::string &b) {
    const std::string r = tmp();
    line(fmt::format("{} = arith.addi {}, {} : index", r, a, b));
    return r;
  }
  std::string mul(const std::string &a, const std::string &b) {
    const std::string r = tmp();
    line(fmt::format("{} = arith.muli {}, {} : index", r, a, b));
    return r;
  }
  std::string fop(const char *op, const std::string &a, const std::string &b) {
    const std::string r = tmp();
    line(fmt::format("{} = arith.{} {}, {} : f32", r, op, a, b));
    return r;
  }
  std::string exp2(const std::string &x) {
    const std::string r = tmp();
    line(fmt::format("{} = llvm.inline_asm \"ex2.approx.ftz.f32 $0, $1;\", "
                     "\"=f,f\" {} : (f32) -> f32",
                     r, x));
    return r;
  }
  std::string shuffleXor(const std::string &v, int mask) {
    const std::string r = tmp(), ok = tmp();
    line(fmt::format("{}, {} = gpu.shuffle xor {}, {}, {} : f32", r, ok, v,
                     c32(mask), c32(32)));
    return r;
  }
  std::string c32(int v) {
    consts32_.insert(v);
    return "%i" + std::to_string(v);
  }
  std::string flatType(int64_t n) const {
    return fmt::format("memref<{}x{}>", n, elem_);
  }
  std::string smemType() const {
    return fmt::format("memref<{}x{}x{}, #gpu.address_space<workgroup>>", q_.kv,
                       p_.d + 8, elem_);
  }
  /// Element offset of (b, head, s, 0) in Q / O (`kv` false) or K / V.
  std::string offset(const std::string &b, const std::string &h,
                     const std::string &s, bool kv);
  /// Two consecutive 16-bit values as one mma operand register.
  std::string asOperand(const std::string &pair);
  std::string pack(const std::string &lo, const std::string &hi);
  /// K and V block `blk` into shared memory (zeros past skv).
  void loadKv(const std::string &blk);

  const Params &q_;
  const AttentionProblem &p_;
  std::string arch_, elem_, opType_, body_;
  std::set<int64_t> consts_;
  std::set<int> consts32_;
  int next_ = 0;
};

std::string Emitter::offset(const std::string &b, const std::string &h,
                            const std::string &s, bool kv) {
  const int64_t heads = kv ? p_.hkv : p_.hq;
  const int64_t len = kv ? p_.skv : p_.sq;
  // BSHD ((b * len + s) * heads + h) * d; BHSD ((b * heads + h) * len + s) * d.
  const bool bshd = p_.layout == AttentionProblem::Layout::BSHD;
  const std::string x =
      bshd ? add(mul(b, c(len)), s) : add(mul(b, c(heads)), h);
  const std::string y =
      bshd ? add(mul(x, c(heads)), h) : add(mul(x, c(len)), s);
  return mul(y, c(p_.d));
}

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

void Emitter::loadKv(const std::string &blk) {
  const int64_t total = q_.kv * p_.d;
  const std::string e = tmp();
  line(fmt::format("scf.for {} = %tid to {} step {} {{", e, c(total),
                   c(threads(q_))));
  const std::string r = tmp(), col = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", r, e, c(p_.d)));
  line(fmt::format("{} = arith.remui {}, {} : index", col, e, c(p_.d)));
  const std::string key = add(mul(blk, c(q_.kv)), r);
  const std::string in = tmp();
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", in, key, c(p_.skv)));
  const std::string kv = tmp();
  line(fmt::format("{}:2 = scf.if {} -> ({}, {}) {{", kv, in, elem_, elem_));
  const std::string at = add(offset("%b", "%kvh", key, true), col);
  const std::string k = tmp(), v = tmp();
  line(fmt::format("{} = memref.load %K[{}] : {}", k, at,
                   flatType(p_.kvElements())));
  line(fmt::format("{} = memref.load %V[{}] : {}", v, at,
                   flatType(p_.kvElements())));
  line(fmt::format("scf.yield {}, {} : {}, {}", k, v, elem_, elem_));
  line("} else {");
  line(fmt::format("scf.yield %zero_h, %zero_h : {}, {}", elem_, elem_));
  line("}");
  line(fmt::format("memref.store {}#0, %sk[{}, {}] : {}", kv, r, col,
                   smemType()));
  line(fmt::format("memref.store {}#1, %sv[{}, {}] : {}", kv, r, col,
                   smemType()));
  line("}");
}

std::string Emitter::module() {
  const int64_t tiles = (p_.sq + rows(q_) - 1) / rows(q_);
  const int64_t group = p_.hq / p_.hkv;
  const int64_t nt = q_.kv / 8; // n8 score tiles per block
  const int64_t dt = p_.d / 8;  // n8 output tiles
  const int64_t ks = p_.d / 16; // k16 steps of Q K^T
  const int64_t blocksAll = (p_.skv + q_.kv - 1) / q_.kv;

  // The CTA's (query tile, batch, head), heaviest causal tiles first.
  line("%bid = gpu.block_id x");
  line(fmt::format("%h = arith.remui %bid, {} : index", c(p_.hq)));
  line(fmt::format("%bh = arith.divui %bid, {} : index", c(p_.hq)));
  line(fmt::format("%b = arith.remui %bh, {} : index", c(p_.batch)));
  line(fmt::format("%rank = arith.divui %bh, {} : index", c(p_.batch)));
  line(fmt::format("%tile = arith.subi {}, %rank : index", c(tiles - 1)));
  line(fmt::format("%kvh = arith.divui %h, {} : index", c(group)));
  line(fmt::format("%warp = arith.divui %tid, {} : index", c(32)));
  line(fmt::format("%lane = arith.remui %tid, {} : index", c(32)));
  line(fmt::format("%g = arith.divui %lane, {} : index", c(4)));
  line(fmt::format("%t4 = arith.remui %lane, {} : index", c(4)));
  line(fmt::format("%k2 = arith.muli %t4, {} : index", c(2)));
  line(fmt::format("%q0 = arith.muli %tile, {} : index", c(rows(q_))));
  line(fmt::format("%w16 = arith.muli %warp, {} : index", c(16)));
  line("%rw = arith.addi %q0, %w16 : index");
  line("%r0 = arith.addi %rw, %g : index");
  line(fmt::format("%r1 = arith.addi %r0, {} : index", c(8)));
  line(fmt::format("%in0 = arith.cmpi ult, %r0, {} : index", c(p_.sq)));
  line(fmt::format("%in1 = arith.cmpi ult, %r1, {} : index", c(p_.sq)));
  // Rows past sq read row 0 (valid memory) and are never stored.
  line(fmt::format("%s0 = arith.select %in0, %r0, {} : index", c(0)));
  line(fmt::format("%s1 = arith.select %in1, %r1, {} : index", c(0)));
  const std::string qo0 = offset("%b", "%h", "%s0", false);
  const std::string qo1 = offset("%b", "%h", "%s1", false);
  line(fmt::format("%qo0 = arith.addi {}, {} : index", qo0, c(0)));
  line(fmt::format("%qo1 = arith.addi {}, {} : index", qo1, c(0)));

  // The first key each of the thread's rows may not see (as i64-free
  // index arithmetic: position + skv - sq + 1, clamped to [0, skv]).
  auto limit = [&](const std::string &r) {
    if (!p_.causal) {
      return c(p_.skv);
    }
    // r + (skv - sq) + 1 may be negative: compute in i64 via index casts.
    const std::string ri = tmp(), li = tmp(), lo = tmp(), hi = tmp(),
                      out = tmp();
    line(fmt::format("{} = arith.index_cast {} : index to i64", ri, r));
    line(fmt::format("{} = arith.addi {}, %skvsq1 : i64", li, ri));
    line(fmt::format("{} = arith.maxsi {}, %zero_i64 : i64", lo, li));
    line(fmt::format("{} = arith.minsi {}, %skv_i64 : i64", hi, lo));
    line(fmt::format("{} = arith.index_cast {} : i64 to index", out, hi));
    return out;
  };
  line(fmt::format("%skvsq1 = arith.constant {} : i64", p_.skv - p_.sq + 1));
  line("%zero_i64 = arith.constant 0 : i64");
  line(fmt::format("%skv_i64 = arith.constant {} : i64", p_.skv));
  line(fmt::format("%lim0 = arith.addi {}, {} : index", limit("%r0"), c(0)));
  line(fmt::format("%lim1 = arith.addi {}, {} : index", limit("%r1"), c(0)));

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

  // The KV blocks this tile walks (a causal tile stops at its diagonal).
  std::string blocks = c(blocksAll);
  if (p_.causal) {
    const std::string last = tmp(), li = tmp(), ei = tmp(), e = tmp(),
                      cnt = tmp();
    line(fmt::format("{} = arith.addi %q0, {} : index", last, c(rows(q_) - 1)));
    line(fmt::format("{} = arith.index_cast {} : index to i64", li, last));
    line(fmt::format("{} = arith.addi {}, %skvsq1 : i64", ei, li));
    line(fmt::format("{} = arith.maxsi {}, %zero_i64 : i64", e, ei));
    const std::string ec = tmp(), eidx = tmp(), up = tmp();
    line(fmt::format("{} = arith.minsi {}, %skv_i64 : i64", ec, e));
    line(fmt::format("{} = arith.index_cast {} : i64 to index", eidx, ec));
    line(fmt::format("{} = arith.addi {}, {} : index", up, eidx, c(q_.kv - 1)));
    line(fmt::format("{} = arith.divui {}, {} : index", cnt, up, c(q_.kv)));
    blocks = cnt;
  }

  // The KV loop carries the row maxima and sums and the output tiles.
  const int64_t no = dt * 4;
  std::string iters = "%m0 = %neg_inf, %m1 = %neg_inf, %l0 = %zero_f32, "
                      "%l1 = %zero_f32";
  std::string types = "f32, f32, f32, f32";
  for (int64_t i = 0; i < no; ++i) {
    iters += fmt::format(", %o{} = %zero_f32", i);
    types += ", f32";
  }
  line(fmt::format("%res:{} = scf.for %blk = {} to {} step {} iter_args({}) "
                   "-> ({}) {{",
                   no + 4, c(0), blocks, c(1), iters, types));
  loadKv("%blk");
  line("gpu.barrier");
  const std::string key0 = mul("%blk", c(q_.kv));
  // S = Q K^T, one n8 tile of keys at a time.
  std::vector<std::vector<std::string>> s(static_cast<size_t>(nt));
  for (int64_t j = 0; j < nt; ++j) {
    const std::string krow = add("%g", c(j * 8));
    std::string acc[4] = {"%zero_f32", "%zero_f32", "%zero_f32", "%zero_f32"};
    for (int64_t k = 0; k < ks; ++k) {
      auto frag = [&](int64_t col) {
        const std::string v = tmp();
        line(fmt::format("{} = vector.load %sk[{}, {}] : {}, vector<2x{}>", v,
                         krow, add("%k2", c(col)), smemType(), elem_));
        return asOperand(v);
      };
      const std::string b0 = frag(k * 16), b1 = frag(k * 16 + 8);
      const std::string d = tmp();
      line(fmt::format(
          "{} = nvvm.mma.sync A[{}, {}, {}, {}] B[{}, {}] C[{}, {}, {}, {}] "
          "{{layoutA = #nvvm.mma_layout<row>, layoutB = "
          "#nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<{}>, "
          "multiplicandBPtxType = #nvvm.mma_type<{}>, shape = "
          "#nvvm.shape<m = 16, n = 8, k = 16>}} : ({}, {}, f32) -> "
          "!llvm.struct<(f32, f32, f32, f32)>",
          d, qa[size_t(k)][0], qa[size_t(k)][1], qa[size_t(k)][2],
          qa[size_t(k)][3], b0, b1, acc[0], acc[1], acc[2], acc[3], elem_,
          elem_, opType_, opType_));
      for (int e = 0; e < 4; ++e) {
        acc[e] = tmp();
        line(fmt::format("{} = llvm.extractvalue {}[{}] : "
                         "!llvm.struct<(f32, f32, f32, f32)>",
                         acc[e], d, e));
      }
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
  // Online softmax per row half.
  std::string base[2], mNew[2], alpha[2];
  for (int half = 0; half < 2; ++half) {
    std::string mx = "%neg_inf";
    for (int64_t j = 0; j < nt; ++j) {
      for (int e = 2 * half; e < 2 * half + 2; ++e) {
        mx = fop("maximumf", mx, s[size_t(j)][size_t(e)]);
      }
    }
    mx = fop("maximumf", mx, shuffleXor(mx, 1));
    mx = fop("maximumf", mx, shuffleXor(mx, 2));
    const std::string scaled = fop("mulf", mx, "%scale");
    mNew[half] = fop("maximumf", half ? "%m1" : "%m0", scaled);
    const std::string isInf = tmp();
    line(fmt::format("{} = arith.cmpf oeq, {}, %neg_inf : f32", isInf,
                     mNew[half]));
    base[half] = tmp();
    line(fmt::format("{} = arith.select {}, %zero_f32, {} : f32", base[half],
                     isInf, mNew[half]));
    alpha[half] = exp2(fop("subf", half ? "%m1" : "%m0", base[half]));
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
  // O = O * alpha + P V.
  std::vector<std::string> o(static_cast<size_t>(no));
  for (int64_t i = 0; i < no; ++i) {
    o[size_t(i)] = fop("mulf", fmt::format("%o{}", i), alpha[(i % 4) / 2]);
  }
  for (int64_t u = 0; u < q_.kv / 16; ++u) {
    const std::vector<std::string> &a = pv[size_t(2 * u)];
    const std::vector<std::string> &b = pv[size_t(2 * u + 1)];
    const std::string pa[4] = {pack(a[0], a[1]), pack(a[2], a[3]),
                               pack(b[0], b[1]), pack(b[2], b[3])};
    const std::string kLo = add("%k2", c(u * 16)),
                      kLo1 = add("%k2", c(u * 16 + 1)),
                      kHi = add("%k2", c(u * 16 + 8)),
                      kHi1 = add("%k2", c(u * 16 + 9));
    for (int64_t t = 0; t < dt; ++t) {
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
      const std::string b0 = vfrag(kLo, kLo1), b1 = vfrag(kHi, kHi1);
      const std::string d = tmp();
      const size_t at = size_t(t * 4);
      line(fmt::format(
          "{} = nvvm.mma.sync A[{}, {}, {}, {}] B[{}, {}] C[{}, {}, {}, {}] "
          "{{layoutA = #nvvm.mma_layout<row>, layoutB = "
          "#nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<{}>, "
          "multiplicandBPtxType = #nvvm.mma_type<{}>, shape = "
          "#nvvm.shape<m = 16, n = 8, k = 16>}} : ({}, {}, f32) -> "
          "!llvm.struct<(f32, f32, f32, f32)>",
          d, pa[0], pa[1], pa[2], pa[3], b0, b1, o[at], o[at + 1], o[at + 2],
          o[at + 3], elem_, elem_, opType_, opType_));
      for (int e = 0; e < 4; ++e) {
        o[at + size_t(e)] = tmp();
        line(fmt::format("{} = llvm.extractvalue {}[{}] : "
                         "!llvm.struct<(f32, f32, f32, f32)>",
                         o[at + size_t(e)], d, e));
      }
    }
  }
  line("gpu.barrier");
  std::string yields =
      fmt::format("{}, {}, {}, {}", mNew[0], mNew[1], lsum[0], lsum[1]);
  for (int64_t i = 0; i < no; ++i) {
    yields += ", " + o[size_t(i)];
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("}");

  // The row sums over the quad, then O / l (0 for a row without keys).
  std::string inv[2];
  for (int half = 0; half < 2; ++half) {
    std::string l = fmt::format("%res#{}", 2 + half);
    l = fop("addf", l, shuffleXor(l, 1));
    l = fop("addf", l, shuffleXor(l, 2));
    const std::string pos = tmp(), r = tmp();
    line(fmt::format("{} = arith.cmpf ogt, {}, %zero_f32 : f32", pos, l));
    const std::string q = fop("divf", "%one_f32", l);
    line(fmt::format("{} = arith.select {}, {}, %zero_f32 : f32", r, pos, q));
    inv[half] = r;
  }
  for (int half = 0; half < 2; ++half) {
    line(fmt::format("scf.if {} {{", half ? "%in1" : "%in0"));
    for (int64_t t = 0; t < dt; ++t) {
      const std::string x0 =
          fop("mulf", fmt::format("%res#{}", 4 + t * 4 + 2 * half), inv[half]);
      const std::string x1 = fop(
          "mulf", fmt::format("%res#{}", 4 + t * 4 + 2 * half + 1), inv[half]);
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

  std::string consts;
  for (int64_t v : consts_) {
    consts += fmt::format("      %c{} = arith.constant {} : index\n", v, v);
  }
  for (int v : consts32_) {
    consts += fmt::format("      %i{} = arith.constant {} : i32\n", v, v);
  }
  const std::string features = arch_ == "sm_100a" ? "+ptx86" : "+ptx80";
  return fmt::format(
      "// ktune cuda.attention.mlir: {} warps={} kv={}\n"
      "module attributes {{gpu.container_module}} {{\n"
      "  gpu.module @kt [#nvvm.target<chip = \"{}\", features = \"{}\">] {{\n"
      "    gpu.func @kt_attention(%Q: {}, %K: {}, %V: {}, %O: {}, "
      "%scale: f32)\n"
      "        workgroup(%sk: {} {{llvm.align = 16 : i64}}, %sv: {} "
      "{{llvm.align = 16 : i64}})\n"
      "        kernel attributes {{known_block_size = array<i32: {}, 1, 1>}} "
      "{{\n"
      "      %tid = gpu.thread_id x\n"
      "      %zero_f32 = arith.constant 0.0 : f32\n"
      "      %one_f32 = arith.constant 1.0 : f32\n"
      "      %neg_inf = arith.constant 0xFF800000 : f32\n"
      "      %zero_h = arith.constant 0.0 : {}\n"
      "{}{}"
      "      gpu.return\n"
      "    }}\n"
      "  }}\n"
      "}}\n",
      p_.key(), q_.warps, q_.kv, arch_, features, flatType(p_.qElements()),
      flatType(p_.kvElements()), flatType(p_.kvElements()),
      flatType(p_.qElements()), smemType(), smemType(), threads(q_), elem_,
      consts, body_);
}

} // namespace

std::string kernelSource(const Params &q, const AttentionProblem &p,
                         const std::string &arch) {
  return Emitter(q, p, arch).module();
}

} // namespace kt::attnmlir
