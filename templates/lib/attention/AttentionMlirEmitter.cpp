#include "AttentionMlirEmitter.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt::attnmlirgpu {

AttentionMlirEmitter::AttentionMlirEmitter(const AttentionProblem &p,
                                           const AttentionWork &w)
    : p_(p), w_(w) {
  elem_ = p.dtype == DType::BF16 ? "bf16" : "f16";
  // Used by keyLimit / blockCount (i64: skv - sq + 1 may be negative).
  line(fmt::format("%skvsq1 = arith.constant {} : i64", p.skv - p.sq + 1));
  line("%zero_i64 = arith.constant 0 : i64");
  line(fmt::format("%skv_i64 = arith.constant {} : i64", p.skv));
}

std::string AttentionMlirEmitter::c(int64_t v) {
  consts_.insert(v);
  return "%c" + std::to_string(v);
}

std::string AttentionMlirEmitter::c32(int v) {
  consts32_.insert(v);
  return "%i" + std::to_string(v);
}

std::string AttentionMlirEmitter::add(const std::string &a,
                                      const std::string &b) {
  const std::string r = tmp();
  line(fmt::format("{} = arith.addi {}, {} : index", r, a, b));
  return r;
}

std::string AttentionMlirEmitter::mul(const std::string &a,
                                      const std::string &b) {
  const std::string r = tmp();
  line(fmt::format("{} = arith.muli {}, {} : index", r, a, b));
  return r;
}

std::string AttentionMlirEmitter::fop(const char *op, const std::string &a,
                                      const std::string &b) {
  const std::string r = tmp();
  line(fmt::format("{} = arith.{} {}, {} : f32", r, op, a, b));
  return r;
}

std::string AttentionMlirEmitter::shuffleXor(const std::string &v, int mask,
                                             int width) {
  const std::string r = tmp(), ok = tmp();
  line(fmt::format("{}, {} = gpu.shuffle xor {}, {}, {} : f32", r, ok, v,
                   c32(mask), c32(width)));
  return r;
}

std::string AttentionMlirEmitter::flatType(int64_t n) const {
  return fmt::format("memref<{}x{}>", n, elem_);
}

std::string AttentionMlirEmitter::offset(const std::string &b,
                                         const std::string &h,
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

int64_t AttentionMlirEmitter::unitRows() const {
  return p_.sq * (w_.pack ? p_.hq / p_.hkv : 1);
}

int64_t AttentionMlirEmitter::tiles() const {
  return p_.queryTiles(w_.rows, w_.pack ? p_.hq / p_.hkv : 1);
}

void AttentionMlirEmitter::tileCoordinates() {
  // Block ids run over (split, head unit, batch, tile rank), the split
  // fastest: the order of the launch's grid (attentionGridSize).
  const int64_t tilesPerUnit = (unitRows() + w_.rows - 1) / w_.rows;
  const int64_t units = w_.pack ? p_.hkv : p_.hq;
  line("%bid = gpu.block_id x");
  std::string slot = "%bid";
  if (w_.split > 1) {
    line(fmt::format("%split = arith.remui %bid, {} : index", c(w_.split)));
    line(fmt::format("%slot = arith.divui %bid, {} : index", c(w_.split)));
    slot = "%slot";
  }
  line(fmt::format("{} = arith.remui {}, {} : index", w_.pack ? "%kvh" : "%h",
                   slot, c(units)));
  line(fmt::format("%bh = arith.divui {}, {} : index", slot, c(units)));
  line(fmt::format("%b = arith.remui %bh, {} : index", c(p_.batch)));
  line(fmt::format("%rank = arith.divui %bh, {} : index", c(p_.batch)));
  line(
      fmt::format("%tile = arith.subi {}, %rank : index", c(tilesPerUnit - 1)));
  if (!w_.pack) {
    line(fmt::format("%kvh = arith.divui %h, {} : index", c(p_.hq / p_.hkv)));
  }
  line(fmt::format("%q0 = arith.muli %tile, {} : index", c(w_.rows)));
}

std::string AttentionMlirEmitter::rowPosition(const std::string &row) {
  if (!w_.pack) {
    return row;
  }
  const std::string pos = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", pos, row,
                   c(p_.hq / p_.hkv)));
  return pos;
}

std::pair<std::string, std::string>
AttentionMlirEmitter::rowPositionHead(const std::string &row) {
  if (!w_.pack) {
    return {row, "%h"};
  }
  const std::string g = tmp();
  line(fmt::format("{} = arith.remui {}, {} : index", g, row,
                   c(p_.hq / p_.hkv)));
  return {rowPosition(row), add(mul("%kvh", c(p_.hq / p_.hkv)), g)};
}

std::string AttentionMlirEmitter::workgroupType(int64_t rows,
                                                int64_t cols) const {
  return fmt::format("memref<{}x{}x{}, #gpu.address_space<workgroup>>", rows,
                     cols, elem_);
}

std::string AttentionMlirEmitter::keyLimit(const std::string &pos) {
  if (!p_.causal) {
    return c(p_.skv);
  }
  const std::string ri = tmp(), li = tmp(), lo = tmp(), hi = tmp(), out = tmp();
  line(fmt::format("{} = arith.index_cast {} : index to i64", ri, pos));
  line(fmt::format("{} = arith.addi {}, %skvsq1 : i64", li, ri));
  line(fmt::format("{} = arith.maxsi {}, %zero_i64 : i64", lo, li));
  line(fmt::format("{} = arith.minsi {}, %skv_i64 : i64", hi, lo));
  line(fmt::format("{} = arith.index_cast {} : i64 to index", out, hi));
  return out;
}

std::pair<std::string, std::string>
AttentionMlirEmitter::blockRange(int64_t kv) {
  std::string n;
  if (!p_.causal) {
    n = c((p_.skv + kv - 1) / kv);
  } else {
    const std::string end = keyLimit(rowPosition(add("%q0", c(w_.rows - 1))));
    const std::string up = add(end, c(kv - 1));
    n = tmp();
    line(fmt::format("{} = arith.divui {}, {} : index", n, up, c(kv)));
  }
  if (w_.split == 1) {
    return {c(0), n};
  }
  // ceil(n / split) blocks per split; the last splits may get fewer or none.
  const std::string per = tmp(), first = tmp(), last = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", per,
                   add(n, c(w_.split - 1)), c(w_.split)));
  line(fmt::format("{} = arith.minui {}, {} : index", first, mul("%split", per),
                   n));
  line(
      fmt::format("{} = arith.minui {}, {} : index", last, add(first, per), n));
  return {first, last};
}

std::string AttentionMlirEmitter::both(const std::string &a,
                                       const std::string &b) {
  if (b.empty()) {
    return a;
  }
  const std::string r = tmp();
  line(fmt::format("{} = arith.andi {}, {} : i1", r, a, b));
  return r;
}

std::string AttentionMlirEmitter::workText() const {
  std::string text;
  if (w_.split != 1 || w_.pack) {
    text = fmt::format(" split={} pack={}", w_.split, w_.pack ? 1 : 0);
  }
  if (w_.lazy) {
    text += " lazy=1";
  }
  if (w_.stages != 1) {
    text += fmt::format(" stages={}", w_.stages);
  }
  if (w_.async) {
    text += " async=1";
  }
  return text;
}

std::string AttentionMlirEmitter::newMaxima(const std::vector<std::string> &m,
                                            std::vector<std::string> &next) {
  if (!w_.lazy) {
    return "";
  }
  const std::string tau = tmp();
  line(fmt::format("{} = arith.constant 8.0 : f32", tau));
  std::string grows;
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string g = tmp();
    line(fmt::format("{} = arith.cmpf ogt, {}, {} : f32", g,
                     fop("subf", next[i], m[i]), tau));
    if (grows.empty()) {
      grows = g;
    } else {
      const std::string o = tmp();
      line(fmt::format("{} = arith.ori {}, {} : i1", o, grows, g));
      grows = o;
    }
  }
  const std::string vote = anyLane(grows);
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string s = tmp();
    line(fmt::format("{} = arith.select {}, {}, {} : f32", s, vote, next[i],
                     m[i]));
    next[i] = s;
  }
  return vote;
}

std::string AttentionMlirEmitter::rescaleFactor(const std::string &m,
                                                const std::string &base,
                                                const std::string &vote) {
  const std::string alpha = exp2(fop("subf", m, base));
  if (vote.empty()) {
    return alpha;
  }
  const std::string r = tmp();
  line(fmt::format("{} = arith.select {}, {}, %one_f32 : f32", r, vote, alpha));
  return r;
}

std::vector<std::string> AttentionMlirEmitter::rescale(
    const std::vector<std::string> &o, const std::vector<std::string> &factor,
    const std::string &type, const std::string &vote) {
  auto products = [&] {
    std::vector<std::string> out;
    for (size_t i = 0; i < o.size(); ++i) {
      out.push_back(tmp());
      line(fmt::format("{} = arith.mulf {}, {} : {}", out.back(), o[i],
                       factor[i], type));
    }
    return out;
  };
  if (vote.empty()) {
    return products();
  }
  std::string types, kept;
  for (size_t i = 0; i < o.size(); ++i) {
    types += (i ? ", " : "") + type;
    kept += (i ? ", " : "") + o[i];
  }
  const std::string r = tmp();
  line(fmt::format("{}:{} = scf.if {} -> ({}) {{", r, o.size(), vote, types));
  std::string yields;
  for (const std::string &v : products()) {
    yields += (yields.empty() ? "" : ", ") + v;
  }
  line(fmt::format("scf.yield {} : {}", yields, types));
  line("} else {");
  line(fmt::format("scf.yield {} : {}", kept, types));
  line("}");
  std::vector<std::string> out;
  for (size_t i = 0; i < o.size(); ++i) {
    out.push_back(fmt::format("{}#{}", r, i));
  }
  return out;
}

std::string AttentionMlirEmitter::mergeSplits(std::vector<RowState> &rows,
                                              int64_t threads) {
  if (w_.split == 1) {
    return "";
  }
  // Value j of a thread lies at ((slot * split + s) * J + j) * threads +
  // tid: for each row its maximum, its sum, then its outputs.
  int64_t perThread = 0;
  for (const RowState &r : rows) {
    perThread += 2 + int64_t(r.o.size());
  }
  workspaceElements_ = tiles() * w_.split * perThread * threads;
  const std::string ws = fmt::format("memref<{}xf32>", workspaceElements_);
  const std::string sems = fmt::format("memref<{}xi32>", tiles());
  const std::string counter = "memref<1xi32, #gpu.address_space<workgroup>>";
  const std::string first =
      add(mul(mul("%slot", c(w_.split * perThread)), c(threads)), "%tid");
  const std::string mine = add(first, mul("%split", c(perThread * threads)));
  auto flat = [](const std::vector<RowState> &st) {
    std::vector<std::string> v;
    for (const RowState &r : st) {
      v.push_back(r.m);
      v.push_back(r.l);
      v.insert(v.end(), r.o.begin(), r.o.end());
    }
    return v;
  };
  const std::vector<std::string> values = flat(rows);
  for (size_t j = 0; j < values.size(); ++j) {
    line(fmt::format("memref.store {}, %WS[{}] : {}", values[j],
                     add(mine, c(int64_t(j) * threads)), ws));
  }
  line(fmt::format("llvm.fence syncscope(\"{}\") release", deviceScope()));
  line("gpu.barrier");
  line(fmt::format("%t0 = arith.cmpi eq, %tid, {} : index", c(0)));
  line("scf.if %t0 {");
  // A relaxed device-scope add (memref.atomic_rmw would be a seq_cst one at
  // system scope); the fences order the workspace around it.
  const std::string base = tmp(), base64 = tmp(), ptr = tmp(), slot = tmp(),
                    cell = tmp(), old = tmp();
  line(fmt::format("{} = memref.extract_aligned_pointer_as_index %SEM : {} "
                   "-> index",
                   base, sems));
  line(fmt::format("{} = arith.index_cast {} : index to i64", base64, base));
  line(fmt::format("{} = llvm.inttoptr {} : i64 to !llvm.ptr<1>", ptr, base64));
  line(fmt::format("{} = arith.index_cast %slot : index to i64", slot));
  line(fmt::format("{} = llvm.getelementptr {}[{}] : (!llvm.ptr<1>, i64) -> "
                   "!llvm.ptr<1>, i32",
                   cell, ptr, slot));
  line(fmt::format("{} = llvm.atomicrmw add {}, {} syncscope(\"{}\") "
                   "monotonic : !llvm.ptr<1>, i32",
                   old, cell, c32(1), deviceScope()));
  line(fmt::format("memref.store {}, %arrived[{}] : {}", old, c(0), counter));
  line("}");
  line("gpu.barrier");
  const std::string arrived = tmp(), last = tmp();
  line(fmt::format("{} = memref.load %arrived[{}] : {}", arrived, c(0),
                   counter));
  line(fmt::format("{} = arith.cmpi eq, {}, {} : i32", last, arrived,
                   c32(int(w_.split - 1))));

  // The last CTA of the tile: every split's maxima, then the weighted sums.
  std::string types;
  for (size_t j = 0; j < values.size(); ++j) {
    types += j ? ", f32" : "f32";
  }
  const std::string merged = tmp();
  line(fmt::format("{}:{} = scf.if {} -> ({}) {{", merged, values.size(), last,
                   types));
  line(fmt::format("llvm.fence syncscope(\"{}\") acquire", deviceScope()));
  auto load = [&](const std::string &s, int64_t j) {
    const std::string v = tmp();
    line(fmt::format(
        "{} = memref.load %WS[{}] : {}", v,
        add(add(first, mul(s, c(perThread * threads))), c(j * threads)), ws));
    return v;
  };
  std::string topIters, topTypes, topYield;
  const std::string tops = tmp(), s1 = tmp();
  std::vector<int64_t> at; // Where each row's values start.
  for (size_t r = 0, j = 0; r < rows.size(); ++r) {
    at.push_back(int64_t(j));
    j += 2 + rows[r].o.size();
  }
  std::vector<std::string> topArgs;
  for (size_t r = 0; r < rows.size(); ++r) {
    topArgs.push_back(tmp());
    topIters += fmt::format("{}{} = %neg_inf", r ? ", " : "", topArgs[r]);
    topTypes += r ? ", f32" : "f32";
  }
  line(fmt::format("{}:{} = scf.for {} = {} to {} step {} iter_args({}) -> "
                   "({}) {{",
                   tops, rows.size(), s1, c(0), c(w_.split), c(1), topIters,
                   topTypes));
  for (size_t r = 0; r < rows.size(); ++r) {
    topYield += (r ? ", " : "") + fop("maximumf", topArgs[r], load(s1, at[r]));
  }
  line(fmt::format("scf.yield {} : {}", topYield, topTypes));
  line("}");
  std::string sumIters, sumTypes, sumYield;
  std::vector<std::string> sumArgs;
  for (size_t j = 0; j < values.size(); ++j) {
    if (std::find(at.begin(), at.end(), int64_t(j)) != at.end()) {
      continue; // The maxima are not summed.
    }
    sumArgs.push_back(tmp());
    sumIters += fmt::format("{}{} = %zero_f32", sumIters.empty() ? "" : ", ",
                            sumArgs.back());
    sumTypes += sumTypes.empty() ? "f32" : ", f32";
  }
  const std::string sums = tmp(), s2 = tmp();
  line(fmt::format("{}:{} = scf.for {} = {} to {} step {} iter_args({}) -> "
                   "({}) {{",
                   sums, sumArgs.size(), s2, c(0), c(w_.split), c(1), sumIters,
                   sumTypes));
  for (size_t r = 0, k = 0; r < rows.size(); ++r) {
    // A split that saw no key of the row has m = -inf and weight 0; a row
    // no split saw keeps weight 0 (and sum 0).
    const std::string top = fmt::format("{}#{}", tops, r);
    const std::string none = tmp(), w = tmp();
    line(fmt::format("{} = arith.cmpf oeq, {}, %neg_inf : f32", none, top));
    const std::string e = exp2(fop("subf", load(s2, at[r]), top));
    line(fmt::format("{} = arith.select {}, %zero_f32, {} : f32", w, none, e));
    for (int64_t j = 1; j < 2 + int64_t(rows[r].o.size()); ++j, ++k) {
      sumYield += (sumYield.empty() ? "" : ", ") +
                  fop("addf", sumArgs[k], fop("mulf", w, load(s2, at[r] + j)));
    }
  }
  line(fmt::format("scf.yield {} : {}", sumYield, sumTypes));
  line("}");
  line("scf.if %t0 {");
  line(fmt::format("memref.store {}, %SEM[%slot] : {}", c32(0), sems));
  line("}");
  std::string yield;
  for (size_t r = 0, k = 0; r < rows.size(); ++r) {
    yield += fmt::format("{}{}#{}", r ? ", " : "", tops, r);
    for (size_t j = 1; j < 2 + rows[r].o.size(); ++j, ++k) {
      yield += fmt::format(", {}#{}", sums, k);
    }
  }
  line(fmt::format("scf.yield {} : {}", yield, types));
  line("} else {");
  std::string keep;
  for (const std::string &v : values) {
    keep += (keep.empty() ? "" : ", ") + v;
  }
  line(fmt::format("scf.yield {} : {}", keep, types));
  line("}");
  for (size_t r = 0, j = 0; r < rows.size(); ++r) {
    rows[r].m = fmt::format("{}#{}", merged, j++);
    rows[r].l = fmt::format("{}#{}", merged, j++);
    for (std::string &o : rows[r].o) {
      o = fmt::format("{}#{}", merged, j++);
    }
  }
  return last;
}

void AttentionMlirEmitter::loadKv(const std::string &blk,
                                  const KvBuffers &buf) {
  const std::string e = tmp();
  line(fmt::format("scf.for {} = %tid to {} step {} {{", e, c(buf.kv * p_.d),
                   c(buf.threads)));
  const std::string r = tmp(), col = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", r, e, c(p_.d)));
  line(fmt::format("{} = arith.remui {}, {} : index", col, e, c(p_.d)));
  const std::string key = add(mul(blk, c(buf.kv)), r);
  const std::string in = tmp(), kvv = tmp();
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", in, key, c(p_.skv)));
  line(fmt::format("{}:2 = scf.if {} -> ({}, {}) {{", kvv, in, elem_, elem_));
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
  line(fmt::format("memref.store {}#0, %sk[{}, {}] : {}", kvv, r, col,
                   buf.kType));
  line(fmt::format("memref.store {}#1, {}[{}, {}] : {}", kvv, buf.vBuf,
                   buf.vTransposed ? col : r, buf.vTransposed ? r : col,
                   buf.vType));
  line("}");
}

AttentionMlirEmitter::KvChunk
AttentionMlirEmitter::chunk(int64_t i, const std::string &blk,
                            const KvBuffers &buf) {
  const int64_t perRow = p_.d / 8;
  const std::string e = add("%tid", c(i * buf.threads));
  const std::string r = tmp(), col = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", r, e, c(perRow)));
  line(fmt::format("{} = arith.remui {}, {} : index", col, e, c(perRow)));
  const std::string col8 = mul(col, c(8));
  return {e, r, col8, add(mul(blk, c(buf.kv)), r)};
}

KvFetch AttentionMlirEmitter::fetchKv(const std::string &blk,
                                      const std::string &live,
                                      const KvBuffers &buf) {
  const int64_t perRow = p_.d / 8, chunks = buf.kv * perRow;
  const std::string vec = fmt::format("vector<8x{}>", elem_);
  const std::string kvType = flatType(p_.kvElements());
  KvFetch f;
  for (int64_t i = 0; i * buf.threads < chunks; ++i) {
    const auto [e, r, col8, key] = chunk(i, blk, buf);
    const std::string in = tmp();
    line(
        fmt::format("{} = arith.cmpi ult, {}, {} : index", in, key, c(p_.skv)));
    std::string ok = both(in, live), chunkIn;
    if ((i + 1) * buf.threads > chunks) {
      chunkIn = tmp();
      line(fmt::format("{} = arith.cmpi ult, {}, {} : index", chunkIn, e,
                       c(chunks)));
      ok = both(ok, chunkIn);
    }
    const std::string kv = tmp();
    line(fmt::format("{}:2 = scf.if {} -> ({}, {}) {{", kv, ok, vec, vec));
    const std::string at = add(offset("%b", "%kvh", key, true), col8);
    const std::string k = tmp(), v = tmp();
    line(fmt::format("{} = vector.load %K[{}] {{alignment = 16 : i64}} : {}, "
                     "{}",
                     k, at, kvType, vec));
    line(fmt::format("{} = vector.load %V[{}] {{alignment = 16 : i64}} : {}, "
                     "{}",
                     v, at, kvType, vec));
    line(fmt::format("scf.yield {}, {} : {}, {}", k, v, vec, vec));
    line("} else {");
    line(fmt::format("scf.yield %zero_v8, %zero_v8 : {}, {}", vec, vec));
    line("}");
    f.k.push_back(kv + "#0");
    f.v.push_back(kv + "#1");
    f.row.push_back(r);
    f.col.push_back(col8);
    f.inRange.push_back(chunkIn);
  }
  return f;
}

std::string AttentionMlirEmitter::copyKvAsync(const std::string &blk,
                                              const std::string &live,
                                              const std::string &slot,
                                              const KvBuffers &buf) {
  const int64_t perRow = p_.d / 8, chunks = buf.kv * perRow;
  const std::string kvType = flatType(p_.kvElements());
  line(fmt::format("scf.if {} {{", live));
  for (int64_t i = 0; i * buf.threads < chunks; ++i) {
    const auto [e, r, col8, key] = chunk(i, blk, buf);
    // A key past the sequence reads nothing (source size 0: the chunk is
    // zero-filled) from an address inside K / V.
    const std::string in = tmp(), safe = tmp(), n = tmp();
    line(
        fmt::format("{} = arith.cmpi ult, {}, {} : index", in, key, c(p_.skv)));
    line(fmt::format("{} = arith.select {}, {}, {} : index", safe, in, key,
                     c(0)));
    line(
        fmt::format("{} = arith.select {}, {}, {} : index", n, in, c(8), c(0)));
    const bool partial = (i + 1) * buf.threads > chunks;
    if (partial) {
      const std::string chunkIn = tmp();
      line(fmt::format("{} = arith.cmpi ult, {}, {} : index", chunkIn, e,
                       c(chunks)));
      line(fmt::format("scf.if {} {{", chunkIn));
    }
    const std::string at = add(offset("%b", "%kvh", safe, true), col8);
    for (const char *t : {"K", "V"}) {
      line(fmt::format("{} = nvgpu.device_async_copy %{}[{}], %s{}b[{}, {}, "
                       "{}], 8, {} {{bypassL1}} : {} to {}",
                       tmp(), t, at, *t == 'K' ? 'k' : 'v', slot, r, col8, n,
                       kvType, buf.pairType));
    }
    if (partial) {
      line("}");
    }
  }
  line("}");
  const std::string group = tmp();
  // Generic form: the custom one would read the next line's value as a
  // token (the group takes every copy issued since the last one anyway).
  line(fmt::format("{} = \"nvgpu.device_async_create_group\"() : () -> "
                   "!nvgpu.device.async.token",
                   group));
  return group;
}

void AttentionMlirEmitter::storeKv(const KvFetch &f, const KvBuffers &buf) {
  const std::string vec = fmt::format("vector<8x{}>", elem_);
  for (size_t i = 0; i < f.k.size(); ++i) {
    if (!f.inRange[i].empty()) {
      line(fmt::format("scf.if {} {{", f.inRange[i]));
    }
    line(fmt::format("vector.store {}, %sk[{}, {}] {{alignment = 16 : i64}} "
                     ": {}, {}",
                     f.k[i], f.row[i], f.col[i], buf.kType, vec));
    if (!buf.vTransposed) {
      line(fmt::format("vector.store {}, {}[{}, {}] {{alignment = 16 : i64}} "
                       ": {}, {}",
                       f.v[i], buf.vBuf, f.row[i], f.col[i], buf.vType, vec));
    } else {
      for (int j = 0; j < 8; ++j) {
        const std::string x = tmp();
        line(fmt::format("{} = vector.extract {}[{}] : {} from {}", x, f.v[i],
                         j, elem_, vec));
        line(fmt::format("memref.store {}, {}[{}, {}] : {}", x, buf.vBuf,
                         add(f.col[i], c(j)), f.row[i], buf.vType));
      }
    }
    if (!f.inRange[i].empty()) {
      line("}");
    }
  }
}

void AttentionMlirEmitter::stageFirst(const std::string &blk0,
                                      const std::string &blk1,
                                      const KvBuffers &buf) {
  if (w_.stages == 1) {
    return;
  }
  const std::string live = tmp();
  if (w_.async) {
    line(fmt::format("{} = arith.cmpi ult, {}, {} : index", live, blk0, blk1));
    const std::string slot = tmp();
    line(fmt::format("{} = arith.remui {}, {} : index", slot, blk0, c(2)));
    copyKvAsync(blk0, live, slot, buf);
    return;
  }
  line(fmt::format("%zero_v8 = arith.constant dense<0.0> : vector<8x{}>",
                   elem_));
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", live, blk0, blk1));
  storeKv(fetchKv(blk0, live, buf), buf);
  line("gpu.barrier");
}

KvFetch AttentionMlirEmitter::stageTop(const std::string &blk1,
                                       const KvBuffers &buf) {
  if (w_.stages == 1) {
    loadKv("%blk", buf);
    line("gpu.barrier");
    return {};
  }
  const std::string next = add("%blk", c(1)), live = tmp();
  line(fmt::format("{} = arith.cmpi ult, {}, {} : index", live, next, blk1));
  if (!w_.async) {
    return fetchKv(next, live, buf);
  }
  const std::string slot = tmp(), other = tmp();
  line(fmt::format("{} = arith.remui %blk, {} : index", slot, c(2)));
  line(fmt::format("{} = arith.subi {}, {} : index", other, c(1), slot));
  line(fmt::format("%sk = memref.subview %skb[{}, 0, 0] [1, {}, {}] [1, 1, 1] "
                   ": {} to {}",
                   slot, buf.kv, p_.d + 8, buf.pairType, buf.kType));
  line(fmt::format("{} = memref.subview %svb[{}, 0, 0] [1, {}, {}] [1, 1, 1] "
                   ": {} to {}",
                   buf.vBuf, slot, buf.kv, p_.d + 8, buf.pairType, buf.vType));
  const std::string group = copyKvAsync(next, live, other, buf);
  line(
      fmt::format("nvgpu.device_async_wait {} {{numGroups = 1 : i32}}", group));
  line("gpu.barrier");
  return {};
}

void AttentionMlirEmitter::stageBottom(const KvFetch &next,
                                       const KvBuffers &buf) {
  if (w_.stages == 1 || w_.async) {
    return;
  }
  storeKv(next, buf);
  line("gpu.barrier");
}

std::string AttentionMlirEmitter::finish(const std::string &header,
                                         const std::string &targetAttr,
                                         const std::string &workgroup,
                                         int64_t threads) {
  std::string args, groups = workgroup;
  if (w_.split > 1) {
    args = fmt::format(", %WS: memref<{}xf32>, %SEM: memref<{}xi32>",
                       workspaceElements_, tiles());
    groups += ", %arrived: memref<1xi32, #gpu.address_space<workgroup>>";
  }
  std::string consts;
  for (int64_t v : consts_) {
    consts += fmt::format("      %c{} = arith.constant {} : index\n", v, v);
  }
  for (int v : consts32_) {
    consts += fmt::format("      %i{} = arith.constant {} : i32\n", v, v);
  }
  return fmt::format(
      "// {}\n"
      "module attributes {{gpu.container_module}} {{\n"
      "  gpu.module @kt [{}] {{\n"
      "    gpu.func @kt_attention(%Q: {}, %K: {}, %V: {}, %O: {}, "
      "%scale: f32{})\n"
      "        workgroup({})\n"
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
      header, targetAttr, flatType(p_.qElements()), flatType(p_.kvElements()),
      flatType(p_.kvElements()), flatType(p_.qElements()), args, groups,
      threads, elem_, consts, body_);
}

} // namespace kt::attnmlirgpu
