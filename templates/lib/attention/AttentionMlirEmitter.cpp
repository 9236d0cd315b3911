#include "AttentionMlirEmitter.h"

#include <fmt/format.h>

namespace kt::attnmlirgpu {

AttentionMlirEmitter::AttentionMlirEmitter(const AttentionProblem &p) : p_(p) {
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

void AttentionMlirEmitter::tileCoordinates(int64_t rows) {
  const int64_t tiles = (p_.sq + rows - 1) / rows;
  line("%bid = gpu.block_id x");
  line(fmt::format("%h = arith.remui %bid, {} : index", c(p_.hq)));
  line(fmt::format("%bh = arith.divui %bid, {} : index", c(p_.hq)));
  line(fmt::format("%b = arith.remui %bh, {} : index", c(p_.batch)));
  line(fmt::format("%rank = arith.divui %bh, {} : index", c(p_.batch)));
  line(fmt::format("%tile = arith.subi {}, %rank : index", c(tiles - 1)));
  line(fmt::format("%kvh = arith.divui %h, {} : index", c(p_.hq / p_.hkv)));
  line(fmt::format("%q0 = arith.muli %tile, {} : index", c(rows)));
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

std::string AttentionMlirEmitter::blockCount(const std::string &q0,
                                             int64_t rows, int64_t kv) {
  if (!p_.causal) {
    return c((p_.skv + kv - 1) / kv);
  }
  const std::string end = keyLimit(add(q0, c(rows - 1)));
  const std::string up = add(end, c(kv - 1)), n = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", n, up, c(kv)));
  return n;
}

void AttentionMlirEmitter::loadKv(const std::string &blk, int64_t kv,
                                  int64_t threads, const std::string &kType,
                                  const std::string &vBuf,
                                  const std::string &vType, bool vTransposed) {
  const std::string e = tmp();
  line(fmt::format("scf.for {} = %tid to {} step {} {{", e, c(kv * p_.d),
                   c(threads)));
  const std::string r = tmp(), col = tmp();
  line(fmt::format("{} = arith.divui {}, {} : index", r, e, c(p_.d)));
  line(fmt::format("{} = arith.remui {}, {} : index", col, e, c(p_.d)));
  const std::string key = add(mul(blk, c(kv)), r);
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
  line(fmt::format("memref.store {}#0, %sk[{}, {}] : {}", kvv, r, col, kType));
  line(fmt::format("memref.store {}#1, {}[{}, {}] : {}", kvv, vBuf,
                   vTransposed ? col : r, vTransposed ? r : col, vType));
  line("}");
}

std::string AttentionMlirEmitter::finish(const std::string &header,
                                         const std::string &targetAttr,
                                         const std::string &workgroup,
                                         int64_t threads) {
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
      "%scale: f32)\n"
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
      flatType(p_.kvElements()), flatType(p_.qElements()), workgroup, threads,
      elem_, consts, body_);
}

} // namespace kt::attnmlirgpu
