// cpu.attention.mlir: the MLIR generator (see CpuAttentionMlir.h).
#include "CpuAttentionMlir.h"

#include "../gemm/TemplateParams.h"

#include "ktune/base/Hash.h"
#include "ktune/device/CpuAttentionAbi.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>

namespace kt {

namespace {

// Bump when the generated code changes in any way (sourceHash()).
constexpr const char *kGeneratorVersion = "cpu.attention.mlir/1";

constexpr std::array<const char *, 2> kParams = {"bq", "bkv"};
/// Accumulator rows kept on the stack per block (bq x d floats).
constexpr int64_t kMaxStackBytes = 128 << 10;

struct Params {
  int64_t bq = 0, bkv = 0;
};

/// The module for one (problem, params): one block function and the grid.
std::string emitModule(const AttentionProblem &p, const Params &q) {
  const int64_t tiles = (p.sq + q.bq - 1) / q.bq;
  const int64_t blocks = p.batch * p.hq * tiles;
  const int64_t group = p.hq / p.hkv;
  const int64_t off = p.skv - p.sq; // causal: query i sees keys <= i + off
  const bool bshd = p.layout == AttentionProblem::Layout::BSHD;
  // Element offsets of row 0 of (b, head) and the stride between rows.
  const int64_t qRowStride = bshd ? p.hq * p.d : p.d;
  const int64_t kvRowStride = bshd ? p.hkv * p.d : p.d;
  const int64_t qHeadStride = bshd ? p.d : p.sq * p.d;
  const int64_t kvHeadStride = bshd ? p.d : p.skv * p.d;
  const int64_t qBatchStride = p.sq * p.hq * p.d;
  const int64_t kvBatchStride = p.skv * p.hkv * p.d;
  const std::string vd = fmt::format("vector<{}xf32>", p.d);
  const std::string vk = fmt::format("vector<{}xf32>", q.bkv);
  const std::string mq = fmt::format("memref<{}xf32>", p.qElements());
  const std::string mkv = fmt::format("memref<{}xf32>", p.kvElements());

  std::string o;
  o += "module attributes {transform.with_named_sequence} {\n";
  o += fmt::format(
      "  func.func @{}(%Q: {mq}, %K: {mkv}, %V: {mkv}, %O: {mq}, %scale: f32, "
      "%blk: index) {{\n",
      kCpuAttentionSymbol, fmt::arg("mq", mq), fmt::arg("mkv", mkv));
  o += fmt::format(
      R"(    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cTiles = arith.constant {tiles} : index
    %cHq = arith.constant {hq} : index
    %cGroup = arith.constant {group} : index
    %cBq = arith.constant {bq} : index
    %cBkv = arith.constant {bkv} : index
    %cSq = arith.constant {sq} : index
    %cSkv = arith.constant {skv} : index
    %cOff1 = arith.constant {off1} : index
    %cQRow = arith.constant {qRow} : index
    %cKvRow = arith.constant {kvRow} : index
    %cQHead = arith.constant {qHead} : index
    %cKvHead = arith.constant {kvHead} : index
    %cQBatch = arith.constant {qBatch} : index
    %cKvBatch = arith.constant {kvBatch} : index
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %zd = arith.constant dense<0.0> : {vd}
    %t = arith.remui %blk, %cTiles : index
    %bh = arith.divui %blk, %cTiles : index
    %h = arith.remui %bh, %cHq : index
    %b = arith.divui %bh, %cHq : index
    %kvh = arith.divui %h, %cGroup : index
    %q0 = arith.muli %t, %cBq : index
    %qLeft = arith.subi %cSq, %q0 : index
    %rows = arith.minui %qLeft, %cBq : index
    %qb = arith.muli %b, %cQBatch : index
    %qh = arith.muli %h, %cQHead : index
    %qBase = arith.addi %qb, %qh : index
    %kb = arith.muli %b, %cKvBatch : index
    %kh = arith.muli %kvh, %cKvHead : index
    %kvBase = arith.addi %kb, %kh : index
    %acc = memref.alloca() {{alignment = 64 : i64}} : memref<{bq}x{d}xf32>
    %mrow = memref.alloca() : memref<{bq}xf32>
    %lrow = memref.alloca() : memref<{bq}xf32>
    %sbuf = memref.alloca() {{alignment = 64 : i64}} : memref<{bkv}xf32>
    scf.for %i = %c0 to %rows step %c1 {{
      memref.store %ninf, %mrow[%i] : memref<{bq}xf32>
      memref.store %zero, %lrow[%i] : memref<{bq}xf32>
      vector.store %zd, %acc[%i, %c0] : memref<{bq}x{d}xf32>, {vd}
    }}
)",
      fmt::arg("tiles", tiles), fmt::arg("hq", p.hq), fmt::arg("group", group),
      fmt::arg("bq", q.bq), fmt::arg("bkv", q.bkv), fmt::arg("sq", p.sq),
      fmt::arg("skv", p.skv), fmt::arg("off1", off + 1),
      fmt::arg("qRow", qRowStride), fmt::arg("kvRow", kvRowStride),
      fmt::arg("qHead", qHeadStride), fmt::arg("kvHead", kvHeadStride),
      fmt::arg("qBatch", qBatchStride), fmt::arg("kvBatch", kvBatchStride),
      fmt::arg("vd", vd), fmt::arg("d", p.d));
  // The keys any row of the block sees: all of them, or (causal) up to the
  // last row's limit, clamped to [0, skv].
  if (p.causal) {
    o += R"(    %lastRow = arith.addi %q0, %rows : index
    %lastLim = arith.addi %lastRow, %cOff1 : index
    %lastLimM = arith.subi %lastLim, %c1 : index
    %kvEndS = arith.index_cast %lastLimM : index to i64
    %c0i = arith.constant 0 : i64
    %kvEndC = arith.maxsi %kvEndS, %c0i : i64
    %kvEndI = arith.index_cast %kvEndC : i64 to index
    %kvEnd = arith.minui %kvEndI, %cSkv : index
)";
  } else {
    o += "    %kvEnd = arith.addi %cSkv, %c0 : index\n";
  }
  o += fmt::format(R"(    scf.for %j0 = %c0 to %kvEnd step %cBkv {{
      %kvLeft = arith.subi %kvEnd, %j0 : index
      %nkv = arith.minui %kvLeft, %cBkv : index
      scf.for %i = %c0 to %rows step %c1 {{
        %qi = arith.addi %q0, %i : index
)",
                   fmt::arg("d", p.d));
  if (p.causal) {
    // limit = clamp(qi + off + 1, 0, skv), in signed arithmetic.
    o += R"(        %limA = arith.addi %qi, %cOff1 : index
        %limS = arith.index_cast %limA : index to i64
        %c0j = arith.constant 0 : i64
        %limC = arith.maxsi %limS, %c0j : i64
        %limI = arith.index_cast %limC : i64 to index
        %lim = arith.minui %limI, %cSkv : index
)";
  } else {
    o += "        %lim = arith.addi %cSkv, %c0 : index\n";
  }
  o += fmt::format(
      R"(        %qRowOff = arith.muli %qi, %cQRow : index
        %qOff = arith.addi %qBase, %qRowOff : index
        %qv = vector.load %Q[%qOff] : {mq}, {vd}
        scf.for %j = %c0 to %nkv step %c1 {{
          %kj = arith.addi %j0, %j : index
          %valid = arith.cmpi ult, %kj, %lim : index
          %s = scf.if %valid -> (f32) {{
            %kRowOff = arith.muli %kj, %cKvRow : index
            %kOff = arith.addi %kvBase, %kRowOff : index
            %kv = vector.load %K[%kOff] : {mkv}, {vd}
            %prod = arith.mulf %qv, %kv : {vd}
            %dot = vector.reduction <add>, %prod fastmath<reassoc> : {vd} into f32
            %sc = arith.mulf %dot, %scale : f32
            scf.yield %sc : f32
          }} else {{
            scf.yield %ninf : f32
          }}
          memref.store %s, %sbuf[%j] : memref<{bkv}xf32>
        }}
        scf.for %j = %nkv to %cBkv step %c1 {{
          memref.store %ninf, %sbuf[%j] : memref<{bkv}xf32>
        }}
        %sv = vector.load %sbuf[%c0] : memref<{bkv}xf32>, {vk}
        %bmax = vector.reduction <maximumf>, %sv : {vk} into f32
        %mold = memref.load %mrow[%i] : memref<{bq}xf32>
        %mnew = arith.maximumf %mold, %bmax : f32
        %allMasked = arith.cmpf oeq, %mnew, %ninf : f32
        %mref = arith.select %allMasked, %zero, %mnew : f32
        %mrefv = vector.broadcast %mref : f32 to {vk}
        %sd = arith.subf %sv, %mrefv : {vk}
        %pv = math.exp %sd : {vk}
        %psum = vector.reduction <add>, %pv fastmath<reassoc> : {vk} into f32
        %cd = arith.subf %mold, %mref : f32
        %corr = math.exp %cd : f32
        %lold = memref.load %lrow[%i] : memref<{bq}xf32>
        %lsc = arith.mulf %lold, %corr : f32
        %lnew = arith.addf %lsc, %psum : f32
        memref.store %lnew, %lrow[%i] : memref<{bq}xf32>
        memref.store %mnew, %mrow[%i] : memref<{bq}xf32>
        vector.store %pv, %sbuf[%c0] : memref<{bkv}xf32>, {vk}
        %a0 = vector.load %acc[%i, %c0] : memref<{bq}x{d}xf32>, {vd}
        %corrv = vector.broadcast %corr : f32 to {vd}
        %a1 = arith.mulf %a0, %corrv : {vd}
        %a2 = scf.for %j = %c0 to %nkv step %c1 iter_args(%a = %a1) -> ({vd}) {{
          %pj = memref.load %sbuf[%j] : memref<{bkv}xf32>
          %kj = arith.addi %j0, %j : index
          %vRowOff = arith.muli %kj, %cKvRow : index
          %vOff = arith.addi %kvBase, %vRowOff : index
          %vv = vector.load %V[%vOff] : {mkv}, {vd}
          %pjv = vector.broadcast %pj : f32 to {vd}
          %an = vector.fma %pjv, %vv, %a : {vd}
          scf.yield %an : {vd}
        }}
        vector.store %a2, %acc[%i, %c0] : memref<{bq}x{d}xf32>, {vd}
      }}
    }}
    scf.for %i = %c0 to %rows step %c1 {{
      %qi = arith.addi %q0, %i : index
      %l = memref.load %lrow[%i] : memref<{bq}xf32>
      %seen = arith.cmpf ogt, %l, %zero : f32
      %linv = arith.divf %one, %l : f32
      %inv = arith.select %seen, %linv, %zero : f32
      %invv = vector.broadcast %inv : f32 to {vd}
      %a = vector.load %acc[%i, %c0] : memref<{bq}x{d}xf32>, {vd}
      %r = arith.mulf %a, %invv : {vd}
      %oRowOff = arith.muli %qi, %cQRow : index
      %oOff = arith.addi %qBase, %oRowOff : index
      vector.store %r, %O[%oOff] : {mq}, {vd}
    }}
    return
  }}
  func.func @{blocksSym}() -> i64 {{
    %n = arith.constant {blocks} : i64
    return %n : i64
  }}
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}}) {{
    transform.yield
  }}
}}
)",
      fmt::arg("mq", mq), fmt::arg("mkv", mkv), fmt::arg("vd", vd),
      fmt::arg("vk", vk), fmt::arg("bq", q.bq), fmt::arg("bkv", q.bkv),
      fmt::arg("d", p.d), fmt::arg("blocksSym", kCpuAttentionBlocksSymbol),
      fmt::arg("blocks", blocks));
  return o;
}

Result<Params> readParams(const Config &c) {
  KT_RETURN_IF_ERROR(requireParams(c, kParams));
  return Params{c.get("bq"), c.get("bkv")};
}

} // namespace

std::string CpuAttentionMlir::sourceHash() const {
  AttentionProblem p;
  p.batch = 2;
  p.hq = 4;
  p.hkv = 2;
  p.sq = 5;
  p.skv = 7;
  p.d = 16;
  p.causal = true;
  return sha256Hex(std::string(kGeneratorVersion) + "\n" +
                   emitModule(p, Params{4, 16}))
      .substr(0, 16);
}

bool CpuAttentionMlir::supports(const AttentionProblem &problem,
                                const TargetDesc &target) const {
  return target.kind == TargetKind::Cpu && problem.dtype == DType::F32 &&
         problem.validate().isOk();
}

Status CpuAttentionMlir::validate(const Config &config,
                                  const AttentionProblem &problem,
                                  const TargetDesc &target) const {
  if (!supports(problem, target)) {
    return invalidArgument(fmt::format(
        "{} serves valid f32 attention problems on the cpu, not {} on {}",
        name(), problem.key(), target.toString()));
  }
  KT_ASSIGN_OR_RETURN(Params q, readParams(config));
  auto pow2 = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0; };
  if (!pow2(q.bq) || q.bq > 128) {
    return invalidArgument(fmt::format(
        "bq={}: query rows per block are a power of two up to 128", q.bq));
  }
  if (!pow2(q.bkv) || q.bkv < 8 || q.bkv > 512) {
    return invalidArgument(fmt::format(
        "bkv={}: keys per block are a power of two in 8..512", q.bkv));
  }
  if (q.bq * problem.d * 4 > kMaxStackBytes) {
    return invalidArgument(fmt::format(
        "bq={} x d={}: the block's accumulators ({} KiB) exceed {} KiB of "
        "stack",
        q.bq, problem.d, q.bq * problem.d * 4 / 1024, kMaxStackBytes / 1024));
  }
  return Status::ok();
}

Config CpuAttentionMlir::defaultConfig(const AttentionProblem &problem,
                                       const TargetDesc &) const {
  // Decode (a few query rows) wants every row of the group in one block;
  // prefill wants rows enough to reuse each key block from cache.
  int64_t bq = std::min<int64_t>(16, std::bit_ceil(uint64_t(problem.sq)));
  int64_t bkv = problem.skv >= 64 ? 64 : 16;
  return Config({{"bq", bq}, {"bkv", bkv}});
}

std::vector<Config> CpuAttentionMlir::space(const AttentionProblem &problem,
                                            const TargetDesc &target) const {
  const int64_t sqCap = int64_t(std::bit_ceil(uint64_t(problem.sq)));
  const int64_t skvCap =
      std::max<int64_t>(8, int64_t(std::bit_ceil(uint64_t(problem.skv))));
  return enumerateSpace(
      defaultConfig(problem, target),
      {{"bq", {1, 2, 4, 8, 16, 32, 64}}, {"bkv", {16, 32, 64, 128, 256}}},
      [&](const Config &c) {
        return c.get("bq") <= sqCap &&
               c.get("bkv") <= std::max<int64_t>(16, skvCap) &&
               validate(c, problem, target).isOk();
      });
}

Result<KernelSource>
CpuAttentionMlir::instantiate(const Config &config,
                              const AttentionProblem &problem,
                              const TargetDesc &target) const {
  KT_RETURN_IF_ERROR(validate(config, problem, target));
  KT_ASSIGN_OR_RETURN(Params q, readParams(config));
  KernelSource src;
  src.language = "mlir";
  src.text =
      fmt::format("// ktune {} problem {} config {}\n{}", kGeneratorVersion,
                  problem.key(), config.toString(), emitModule(problem, q));
  src.entry = kCpuAttentionSymbol;
  return src;
}

const std::vector<const AttentionTemplate *> &attentionTemplates() {
  static const CpuAttentionMlir cpu;
  static const std::vector<const AttentionTemplate *> all = {&cpu};
  return all;
}

Result<const AttentionTemplate *>
findAttentionTemplate(const std::string &name) {
  std::string known;
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->name() == name) {
      return t;
    }
    known += (known.empty() ? "" : ", ") + t->name();
  }
  return notFound(
      fmt::format("no attention template '{}'; known: {}", name, known));
}

} // namespace kt
