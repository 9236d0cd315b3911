// cpu.attention.mlir: the MLIR generator (see CpuAttentionMlir.h).
#include "CpuAttentionMlir.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"

#include "ktune/base/Hash.h"
#include "ktune/device/CpuAttentionAbi.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <thread>
#include <utility>
#include <vector>

namespace kt {

namespace {

// Bump when the generated code changes in any way (sourceHash()).
constexpr const char *kGeneratorVersion = "cpu.attention.mlir/9";

constexpr std::array<const char *, 3> kParams = {"bq", "bkv", "ku"};
/// Largest split-KV factor, and the most (tile) blocks a problem may have
/// for splits to be offered (beyond it the blocks alone fill the cores).
constexpr int64_t kMaxSplit = 16;
constexpr int64_t kSplitBlocks = 64;
/// Stack bytes a block may take (Q^T, accumulators, scores, packed V).
constexpr int64_t kMaxStackBytes = 384 << 10;

struct Params {
  int64_t bq = 0, bkv = 0, ku = 0;
  /// Rows whose P V share each loaded value row (1, 2, 4 or 8).
  int64_t pr = 1;
  /// KV splits per tile (split-KV decode; CpuAttentionAbi.h).
  int64_t split = 1;
  /// The softmax numerics variant: 0 rescales a row whenever its maximum
  /// rises; 1 keeps a stale maximum until a block raises it by more than
  /// kLazyThreshold (lazy rescaling).
  int64_t lazy = 0;
  /// 0: P V reads V in place, all d columns per step. Otherwise the
  /// block's V is packed and P V takes pc columns (a multiple of 8 dividing
  /// d) per step.
  int64_t pc = 0;
  /// 0: a key's scores are d broadcast FMAs on vector<R> (Q^T packed).
  /// Otherwise dot products over d in vector<dl> lanes (Q packed by rows),
  /// ku keys x R rows of them at a time, summed across lanes by a
  /// transposing shuffle tree: fewer loads per FMA where R is small.
  int64_t dl = 0;
  /// Key/value heads per block (1, 2, 4, 8 or 16, dividing hkv; above 1
  /// only with dot-product scores and V read in place). A block's rows are
  /// the query heads of hb consecutive key/value heads, each key block
  /// walked once for all of them: in BSHD a key's hb heads are one
  /// contiguous run of hb x d elements, where one head is d of every hkv x
  /// d (a stride the hardware prefetchers follow poorly).
  int64_t hb = 1;
  /// bf16 problems on AVX512-BF16 hosts: 1 scores with vdpbf16ps on the
  /// unscaled bf16 Q and K (pairs of d elements per f32 lane; broadcast or
  /// dot-product form), the scale applied to the f32 scores; 2 also does
  /// P V with it (P rounded to bf16; V as pairs of keys, packed per block
  /// with pc > 0, or interleaved from the value rows in place with pc 0).
  int64_t bd = 0;
  /// Software prefetch (0 none): while scoring key j, the K rows of key j +
  /// pf and the V rows of key j (read by this block's P V) are prefetched,
  /// every cache line of the block's run of a key's heads.
  int64_t pf = 0;
  /// Dot-product scores (dl > 0): rows per accumulator (1, 2 or 4). With
  /// dr > 1 a vector<dl> accumulator holds dr rows' partial sums, dl / dr
  /// lanes each: Q packed as dr rows' runs of d side by side, the key's run
  /// broadcast to all of them, so the lane sums take dr times fewer
  /// shuffles and adds.
  int64_t dr = 1;
};

/// Lazy rescaling's threshold in natural-log units (scores are pre-scaled
/// and exponentiated with exp): 8 ln 2, so a probability against a stale
/// maximum is at most 2^8, as in the GPU families' log2 threshold of 8.
constexpr const char *kLazyThreshold = "5.54517744";

/// Blocks of (batch, key/value head, query tile): the parallelism a launch
/// has without splits.
int64_t tileBlocks(const AttentionProblem &p, const Params &q) {
  return p.batch * (p.hkv / q.hb) * ((p.sq + q.bq - 1) / q.bq);
}

/// Blocks of bkv keys the longest tile walks.
int64_t kvBlocks(const AttentionProblem &p, const Params &q) {
  return (p.skv + q.bkv - 1) / q.bkv;
}

/// Rows a block has per key/value head: bq query positions of every query
/// head that shares it, so each key and value row is read once for them.
int64_t headRows(const AttentionProblem &p, const Params &q) {
  return (p.hq / p.hkv) * q.bq;
}

/// Rows of a block: the head rows of its hb key/value heads, head-major.
int64_t blockRows(const AttentionProblem &p, const Params &q) {
  return q.hb * headRows(p, q);
}

int64_t stackBytes(const AttentionProblem &p, const Params &q) {
  const int64_t r = blockRows(p, q);
  // Q^T (bf16 for bf16 dot products), accumulators, scores, row state; the
  // packed V block (bf16 with bd = 2, and then the bf16 probabilities).
  const int64_t qt = (q.bd > 0 ? 2 : 4) * r * p.d;
  const int64_t vpk = q.pc > 0 ? (q.bd == 2 ? 2 : 4) * q.bkv * p.d : 0;
  const int64_t pb = q.bd == 2 ? 2 * q.bkv * r : 0;
  return qt + 4 * (r * p.d + q.bkv * r + 4 * r) + vpk + pb;
}

/// `text` with `n` spaces before each line.
std::string indentLines(const std::string &text, int n) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t end = text.find('\n', i);
    const size_t stop = end == std::string::npos ? text.size() : end + 1;
    out.append(size_t(n), ' ');
    out.append(text, i, stop - i);
    i = stop;
  }
  return out;
}

/// MLIR summing each of `in` (n <= lanes values of vector<lanes x f32>)
/// across its lanes; returns the text and the name of the vector<n x f32>
/// whose lane i is the sum of in[i]. A transposing tree: each pair of
/// vectors becomes one holding both halves' partial sums (two shuffles and
/// an add), so the n sums take about 3 n instructions, not log2(lanes)
/// shuffles and adds each. Vectors past n (up to a power of two) are `pad`.
/// With `blocks` > 1 each input holds that many sums, lanes / blocks
/// consecutive lanes each (the result then has n x blocks lanes, input i's
/// sum b at lane i blocks + b); n x blocks, rounded up to a power of two,
/// is at most `lanes`.
std::pair<std::string, std::string>
laneSums(const std::vector<std::string> &in, int64_t lanes,
         const std::string &pad, const std::string &prefix,
         const std::string &indent, int64_t blocks = 1) {
  // A value and, per block of its lanes, the input whose partial sums the
  // block holds (-1: padding).
  struct Part {
    std::string name;
    std::vector<int64_t> order;
  };
  const int64_t inputs = int64_t(in.size());
  const int64_t n = inputs * blocks;
  const int64_t n2 = int64_t(std::bit_ceil(uint64_t(inputs))) * blocks;
  std::vector<Part> level;
  for (int64_t i = 0; i * blocks < n2; ++i) {
    Part part{i < inputs ? in[size_t(i)] : pad, {}};
    for (int64_t b = 0; b < blocks; ++b) {
      part.order.push_back(i < inputs ? i * blocks + b : -1);
    }
    level.push_back(std::move(part));
  }
  std::string o;
  int step = 0;
  auto emit = [&](const Part &a, const Part &b, int64_t width, bool pair,
                  const std::string &name) {
    // Blocks of w lanes halve: a block's low half plus its high half.
    const int64_t w = width / int64_t(a.order.size()), h = w / 2;
    std::string lo, hi;
    for (size_t blk = 0; blk < a.order.size(); ++blk) {
      for (int src = 0; src < (pair ? 2 : 1); ++src) {
        for (int64_t t = 0; t < h; ++t) {
          const int64_t at = src * width + int64_t(blk) * w + t;
          lo += fmt::format("{}{}", lo.empty() ? "" : ", ", at);
          hi += fmt::format("{}{}", hi.empty() ? "" : ", ", at + h);
        }
      }
    }
    const std::string vt = fmt::format("vector<{}xf32>", width);
    const std::string rt =
        fmt::format("vector<{}xf32>", pair ? width : width / 2);
    o += fmt::format("{0}{1}l = vector.shuffle {2}, {3} [{4}] : {5}, {5}\n"
                     "{0}{1}h = vector.shuffle {2}, {3} [{6}] : {5}, {5}\n"
                     "{0}{1} = arith.addf {1}l, {1}h : {7}\n",
                     indent, name, a.name, b.name, lo, vt, hi, rt);
  };
  while (level.size() > 1) {
    std::vector<Part> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      Part joined{fmt::format("{}{}_{}", prefix, step, i / 2), {}};
      emit(level[i], level[i + 1], lanes, true, joined.name);
      for (size_t blk = 0; blk < level[i].order.size(); ++blk) {
        joined.order.push_back(level[i].order[blk]);
        joined.order.push_back(level[i + 1].order[blk]);
      }
      next.push_back(std::move(joined));
    }
    level = std::move(next);
    ++step;
  }
  // One value of n2 blocks: fold each block to one lane.
  Part v = level[0];
  for (int64_t width = lanes; width > n2; width /= 2, ++step) {
    Part folded{fmt::format("{}{}", prefix, step), v.order};
    emit(v, v, width, false, folded.name);
    v = std::move(folded);
  }
  // Lane i of the result: the block holding in[i].
  std::string perm;
  bool identity = n == n2;
  for (int64_t i = 0; i < n; ++i) {
    const auto at = std::find(v.order.begin(), v.order.end(), i);
    const int64_t lane = int64_t(at - v.order.begin());
    identity = identity && lane == i;
    perm += fmt::format("{}{}", i ? ", " : "", lane);
  }
  if (identity) {
    return {o, v.name};
  }
  const std::string name = prefix + "p";
  o +=
      fmt::format("{0}{1} = vector.shuffle {2}, {2} [{3}] : {4}, {4}\n", indent,
                  name, v.name, perm, fmt::format("vector<{}xf32>", n2));
  return {o, name};
}

/// An scf.for's loop-carried values, added one at a time: the iter_args
/// (`name` = `init`), their types and the values the body yields.
struct Carried {
  std::string iters, types, next;
  void add(const std::string &name, const std::string &init,
           const std::string &yielded, const std::string &type) {
    const char *sep = iters.empty() ? "" : ", ";
    iters += fmt::format("{}{} = {}", sep, name, init);
    types += fmt::format("{}{}", sep, type);
    next += fmt::format("{}{}", sep, yielded);
  }
};

/// The dot-product score form's block-level values: the scores as one flat
/// buffer, a zero vector and the rows' indices.
std::string dotDecls(const AttentionProblem &p, const Params &q) {
  const int64_t rows = blockRows(p, q);
  std::string o = fmt::format(
      "    %sflat = memref.collapse_shape %sbuf [[0, 1]] : memref<{0}x{1}xf32> "
      "into memref<{2}xf32>\n"
      "    %zl = arith.constant dense<0.0> : vector<{3}xf32>\n",
      q.bkv, rows, q.bkv * rows, q.dl);
  for (int64_t r = 0; r < rows; ++r) {
    o += fmt::format("    %cDr{0} = arith.constant {0} : index\n", r);
  }
  return o;
}

/// Dot-product scores: elements of d a row takes per step (2 dl for bf16
/// dot products, dl otherwise, over dr rows per accumulator).
int64_t dotRowElements(const Params &q) {
  return (q.bd > 0 ? 2 : 1) * q.dl / q.dr;
}

/// Dot-product scores' packed Q: by rows (q[R][d]), or with dr > 1 runs
/// of dotRowElements side by side per step (q[d / e][R][e], flattened to
/// q[d / e][R e]) so that dr rows' runs are one load.
std::string dotQtType(const AttentionProblem &p, const Params &q) {
  const int64_t rows = blockRows(p, q), e = dotRowElements(q);
  const char *type = q.bd > 0 ? "bf16" : "f32";
  return q.dr == 1 ? fmt::format("memref<{}x{}x{}>", rows, p.d, type)
                   : fmt::format("memref<{}x{}x{}>", p.d / e, rows * e, type);
}

/// Scores of `nk` keys from key j of the block (row %kRow of K) for the
/// rows of key/value head `hh` of the block: nk x (its rows) dot products
/// over d, dl lanes at a time, summed across lanes and stored as scores
/// (j .. j + nk - 1, those rows). With dr > 1 an accumulator takes dr rows
/// (dl / dr lanes each) against the key's run broadcast dr times. Names
/// start with `x`.
std::string dotScores(const AttentionProblem &p, const Params &q, int64_t nk,
                      int64_t hh, const std::string &mkv,
                      const std::string &x) {
  const int64_t rows = blockRows(p, q), hr = headRows(p, q);
  const int64_t r0 = hh * hr, groups = hr / q.dr, n = nk * groups;
  const bool bshd = p.layout == AttentionProblem::Layout::BSHD;
  const int64_t kvHeadStride = bshd ? p.d : p.skv * p.d;
  const std::string vl = fmt::format("vector<{}xf32>", q.dl);
  // bd: bf16 Q and K rows, 2 dl elements per step, vdpbf16ps.
  const bool bd = q.bd > 0;
  const std::string vq = bd ? fmt::format("vector<{}xbf16>", 2 * q.dl) : vl;
  const std::string mqt = dotQtType(p, q);
  // Elements of d per row and step (one key's run with dr > 1).
  const int64_t e = dotRowElements(q);
  std::string o, body;
  Carried carried;
  // The head's K row: hh heads past the block's first.
  std::string kRow = "%kRow";
  if (hh > 0) {
    kRow = x + "kRowH";
    o += fmt::format("        {0}cHo = arith.constant {1} : index\n"
                     "        {2} = arith.addi %kRow, {0}cHo : index\n",
                     x, hh * kvHeadStride, kRow);
  }
  o += fmt::format("        {}cE = arith.constant {} : index\n", x, e);
  if (q.dr == 1) {
    for (int64_t r = 0; r < hr; ++r) {
      body += fmt::format("          {0}q{1} = vector.load %qt[%cDr{2}, %e] : "
                          "{3}, {4}\n",
                          x, r, r0 + r, mqt, vq);
    }
  } else {
    // qt[d / e][R e]: group g's dr rows side by side at step %e / e.
    body += fmt::format("          {0}eS = arith.divui %e, {0}cE : index\n", x);
    for (int64_t g = 0; g < groups; ++g) {
      o += fmt::format("        {0}cQg{1} = arith.constant {2} : index\n", x, g,
                       (r0 + g * q.dr) * e);
      body += fmt::format("          {0}q{1} = vector.load %qt[{0}eS, "
                          "{0}cQg{1}] : {2}, {3}\n",
                          x, g, mqt, vq);
    }
  }
  body +=
      fmt::format("          {}kOff = arith.addi {}, %e : index\n", x, kRow);
  // dr > 1: the key's run as loaded, as used (widened for f32 FMAs on
  // bf16 keys) and repeated dr times.
  const bool widen = p.dtype == DType::BF16 && !bd;
  const std::string loaded =
      fmt::format("vector<{}x{}>", e, p.dtype == DType::BF16 ? "bf16" : "f32");
  const std::string used = widen ? fmt::format("vector<{}xf32>", e) : loaded;
  std::string repeat;
  for (int64_t i = 0; i < q.dr * e; ++i) {
    repeat += fmt::format("{}{}", i ? ", " : "", i % e);
  }
  for (int64_t u = 0; u < nk; ++u) {
    body += fmt::format(
        "          {0}ko{1} = arith.addi {0}kOff, %cKo{1} : index\n", x, u);
    if (q.dr > 1) {
      body += fmt::format("          {0}k{1}r = vector.load %K[{0}ko{1}] : "
                          "{2}, {3}\n",
                          x, u, mkv, loaded);
      if (widen) {
        body += fmt::format("          {0}k{1}w = arith.extf {0}k{1}r : "
                            "{2} to {3}\n",
                            x, u, loaded, used);
      }
      body += fmt::format("          {0}k{1} = vector.shuffle {0}k{1}{2}, "
                          "{0}k{1}{2} [{3}] : {4}, {4}\n",
                          x, u, widen ? "w" : "r", repeat, used);
    } else if (p.dtype == DType::BF16 && !bd) {
      // bf16 keys widened for f32 FMAs.
      body += fmt::format("          {0}k{1}h = vector.load %K[{0}ko{1}] : "
                          "{2}, vector<{3}xbf16>\n"
                          "          {0}k{1} = arith.extf {0}k{1}h : "
                          "vector<{3}xbf16> to {4}\n",
                          x, u, mkv, q.dl, vl);
    } else {
      // f32 keys, or bf16 pairs for vdpbf16ps (vq).
      body += fmt::format("          {0}k{1} = vector.load %K[{0}ko{1}] : "
                          "{2}, {3}\n",
                          x, u, mkv, vq);
    }
  }
  // Accumulator a = u groups + g: key u's scores for the head's rows
  // g dr .. g dr + dr - 1, at flat score indices (j + u) R + r0 + g dr + i,
  // i.e. j R + rel(a) + i.
  std::vector<std::string> sums;
  std::vector<int64_t> rel;
  for (int64_t u = 0; u < nk; ++u) {
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t a = u * groups + g;
      carried.add(fmt::format("{}a{}", x, a), "%zl", fmt::format("{}n{}", x, a),
                  vl);
      body += bd ? fmt::format("          {0}n{1} = x86vector.avx512.dot "
                               "{0}a{1}, {0}q{2}, {0}k{3} : {4} -> {5}\n",
                               x, a, g, u, vq, vl)
                 : fmt::format("          {0}n{1} = vector.fma {0}q{2}, "
                               "{0}k{3}, {0}a{1} : {4}\n",
                               x, a, g, u, vl);
      sums.push_back(fmt::format("{}s#{}", x, a));
      rel.push_back(u * rows + r0 + g * q.dr);
    }
  }
  o += fmt::format(
      R"(        {x}s:{n} = scf.for %e = %c0 to %cD step {step} iter_args({iters}) -> ({types}) {{
{body}          scf.yield {next} : {types}
        }}
        {x}so = arith.muli %j, %cRows : index
)",
      fmt::arg("x", x), fmt::arg("n", n), fmt::arg("iters", carried.iters),
      fmt::arg("types", carried.types), fmt::arg("body", body),
      fmt::arg("next", carried.next), fmt::arg("step", x + "cE"));
  // Runs of at most dl sums at consecutive score indices, one vector each
  // (all of them for one head per block: its keys' rows are adjacent).
  int64_t g = 0;
  for (int64_t first = 0; first < n; ++g) {
    int64_t count = 1;
    while ((count + 1) * q.dr <= q.dl && first + count < n &&
           rel[size_t(first + count)] == rel[size_t(first)] + count * q.dr) {
      ++count;
    }
    const std::vector<std::string> group(sums.begin() + first,
                                         sums.begin() + first + count);
    auto [text, sum] = laneSums(group, q.dl, "%zl", fmt::format("{}r{}_", x, g),
                                "        ", q.dr);
    o += text +
         fmt::format("        {0}go{1} = arith.constant {2} : index\n"
                     "        {0}sg{1} = arith.addi {0}so, {0}go{1} : index\n"
                     "        vector.store {3}, %sflat[{0}sg{1}] : "
                     "memref<{4}xf32>, vector<{5}xf32>\n",
                     x, g, rel[size_t(first)], sum, q.bkv * rows, count * q.dr);
    first += count;
  }
  return o;
}

/// The scores of `nk` keys for every row of the block: one dotScores per
/// key/value head of the block.
std::string dotScoresAll(const AttentionProblem &p, const Params &q, int64_t nk,
                         const std::string &mkv) {
  std::string o;
  for (int64_t hh = 0; hh < q.hb; ++hh) {
    o += dotScores(p, q, nk, hh, mkv,
                   q.hb > 1 ? fmt::format("%d{}_", hh) : std::string("%d"));
  }
  return o;
}

/// MLIR setting `name` (vector<32xbf16>) to the pair of bf16 at
/// `mem`[`index`...] repeated 16 times: the pair loaded as one 32-bit
/// value and broadcast (vdpbf16ps's broadcast operand). Temporaries are
/// `name` with suffixes.
std::string broadcastPair(const std::string &name, const std::string &mem,
                          const std::string &index, const std::string &memType,
                          const std::string &indent) {
  return fmt::format(
      "{0}{1}p = vector.load {2}[{3}] : {4}, vector<2xbf16>\n"
      "{0}{1}i = vector.bitcast {1}p : vector<2xbf16> to vector<1xi32>\n"
      "{0}{1}e = vector.extract {1}i[0] : i32 from vector<1xi32>\n"
      "{0}{1}b = vector.broadcast {1}e : i32 to vector<16xi32>\n"
      "{0}{1} = vector.bitcast {1}b : vector<16xi32> to vector<32xbf16>\n",
      indent, name, mem, index, memType);
}

/// The bf16 dot-product score form's block-level values: the scale as a
/// vector over rows, bf16 zero, half of d and the 16-row chunks' offsets
/// in qt (32 bf16 each) and in a scores row (16 floats each).
std::string bf16DotDecls(const AttentionProblem &p, const Params &q) {
  const int64_t rows = blockRows(p, q);
  std::string o = fmt::format(
      "    %c2 = arith.constant 2 : index\n"
      "    %cD2 = arith.constant {0} : index\n"
      "    %zeroh = arith.constant 0.0 : bf16\n"
      "    %z16 = arith.constant dense<0.0> : vector<16xf32>\n"
      "    %scaleR = vector.broadcast %scale : f32 to vector<{1}xf32>\n",
      p.d / 2, rows);
  for (int64_t c = 0; q.dl == 0 && c < rows / 16; ++c) {
    o += fmt::format("    %cQc{0} = arith.constant {1} : index\n"
                     "    %cQs{0} = arith.constant {2} : index\n",
                     c, 32 * c, 16 * c);
  }
  return o;
}

/// Scores of `nk` keys from key j of the block (row %kRow of K) for every
/// row with vdpbf16ps: per pair of d elements, the rows' Q pairs (16 rows
/// per vector<32xbf16>) against the key's pair broadcast as one 32-bit
/// value, into nk x R/16 accumulators of vector<16xf32>; stored unscaled.
std::string bf16DotScores(const AttentionProblem &p, const Params &q,
                          int64_t nk, const std::string &mkv) {
  const int64_t rows = blockRows(p, q), chunks = rows / 16;
  const std::string mqt = fmt::format("memref<{}x{}xbf16>", p.d / 2, 2 * rows);
  const std::string ms = fmt::format("memref<{}x{}xf32>", q.bkv, rows);
  std::string body, stores;
  Carried carried;
  for (int64_t c = 0; c < chunks; ++c) {
    body += fmt::format("            %bq{0} = vector.load %qt[%e2, %cQc{0}] : "
                        "{1}, vector<32xbf16>\n",
                        c, mqt);
  }
  body += "            %ke = arith.muli %e2, %c2 : index\n"
          "            %kOff = arith.addi %kRow, %ke : index\n";
  for (int64_t u = 0; u < nk; ++u) {
    body +=
        fmt::format("            %bko{0} = arith.addi %kOff, %cKo{0} : index\n",
                    u) +
        broadcastPair(fmt::format("%bk{}", u), "%K", fmt::format("%bko{}", u),
                      mkv, "            ");
  }
  for (int64_t u = 0; u < nk; ++u) {
    stores +=
        fmt::format("        %bju{0} = arith.addi %j, %cU{0} : index\n", u);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t a = u * chunks + c;
      carried.add(fmt::format("%ba{}", a), "%z16", fmt::format("%bn{}", a),
                  "vector<16xf32>");
      body += fmt::format("            %bn{0} = x86vector.avx512.dot %ba{0}, "
                          "%bq{1}, %bk{2} : vector<32xbf16> -> "
                          "vector<16xf32>\n",
                          a, c, u);
      stores += fmt::format("        vector.store %bs#{0}, %sbuf[%bju{1}, "
                            "%cQs{2}] : {3}, vector<16xf32>\n",
                            a, u, c, ms);
    }
  }
  return fmt::format(
      R"(        %bs:{n} = scf.for %e2 = %c0 to %cD2 step %c1 iter_args({iters}) -> ({types}) {{
{body}            scf.yield {next} : {types}
        }}
{stores})",
      fmt::arg("n", nk * chunks), fmt::arg("iters", carried.iters),
      fmt::arg("types", carried.types), fmt::arg("body", body),
      fmt::arg("next", carried.next), fmt::arg("stores", stores));
}

/// `a` and `b` (vector<n x T> each) interleaved: a0 b0 a1 b1 ...
std::string interleave(const std::string &name, const std::string &a,
                       const std::string &b, int64_t n, const char *type,
                       const std::string &indent) {
  std::string mask;
  for (int64_t i = 0; i < n; ++i) {
    mask += fmt::format("{}{}, {}", i ? ", " : "", i, n + i);
  }
  return fmt::format(
      "{0}{1} = vector.shuffle {2}, {3} [{4}] : vector<{5}x{6}>, "
      "vector<{5}x{6}>\n",
      indent, name, a, b, mask, n, type);
}

/// Columns per step of bd = 2's P V with V read in place (pc 0): all of d,
/// halved while the pr rows' accumulators (16 columns each) would take more
/// than 16 zmm registers.
int64_t bf16PvColumns(const AttentionProblem &p, const Params &q) {
  int64_t cw = p.d;
  while (q.pr * cw / 16 > 16 && cw % 32 == 0) {
    cw /= 2;
  }
  return cw;
}

/// P V with vdpbf16ps (bd = 2). The block's probabilities are rounded to
/// bf16 and stored as pairs of keys (pbuf[j/2][R][2]; an odd block's last
/// pair gets a zero key). Value rows come as pairs of keys too: packed per
/// block (pc > 0: vpk[chunk][j/2][pc][2]) or, in place (pc 0), two rows
/// loaded and interleaved per step. Then per pr rows and chunk of columns
/// (pc, or bf16PvColumns in place): accumulators of 16 columns, each step
/// one pair of keys (the row's P pair broadcast as one 32-bit value).
/// `vHead` defines %kvBaseH, the pr rows' key/value head (in place).
std::string bf16PvLoop(const AttentionProblem &p, const Params &q,
                       const std::string &mkv, const std::string &vHead) {
  const bool inPlace = q.pc == 0;
  const int64_t rows = blockRows(p, q);
  const int64_t pc = inPlace ? bf16PvColumns(p, q) : q.pc;
  const int64_t chunks = p.d / pc, pieces = pc / 16;
  const std::string mpb =
      fmt::format("memref<{}x{}xbf16>", q.bkv / 2, 2 * rows);
  const std::string mvp =
      fmt::format("memref<{}x{}x{}xbf16>", chunks, q.bkv / 2, 2 * pc);
  const std::string ms = fmt::format("memref<{}x{}xf32>", q.bkv, rows);
  const std::string macc = fmt::format("memref<{}x{}xf32>", rows, p.d);
  const std::string mr = fmt::format("memref<{}xf32>", rows);
  const std::string vr = fmt::format("vector<{}xf32>", rows);
  // The packed form's copy of the pair's value rows, chunk by chunk.
  const std::string packV =
      inPlace ? std::string()
              : fmt::format(
                    R"(        %kja = arith.addi %j0, %ja : index
        %kjb = arith.addi %j0, %jbc : index
        %vaOff = arith.muli %kja, %cKvRow : index
        %vbOff = arith.muli %kjb, %cKvRow : index
        %vaRow = arith.addi %kvBase, %vaOff : index
        %vbRow = arith.addi %kvBase, %vbOff : index
        scf.for %ch = %c0 to %cNch step %c1 {{
          %pcol = arith.muli %ch, %cPc : index
          %vaAt = arith.addi %vaRow, %pcol : index
          %vbAt = arith.addi %vbRow, %pcol : index
          %xa = vector.load %V[%vaAt] : {mkv}, vector<{pc}xbf16>
          %xb0 = vector.load %V[%vbAt] : {mkv}, vector<{pc}xbf16>
          %xb = arith.select %hasB, %xb0, %zpc : vector<{pc}xbf16>
{iv}          vector.store %xi, %vpk[%ch, %jp, %c0] : {mvp}, vector<{pc2}xbf16>
        }}
)",
                    fmt::arg("pc", pc), fmt::arg("mkv", mkv),
                    fmt::arg("mvp", mvp), fmt::arg("pc2", 2 * pc),
                    fmt::arg("iv", interleave("%xi", "%xa", "%xb", pc, "bf16",
                                              "          ")));
  std::string o = fmt::format(
      R"(      %cPc = arith.constant {pc} : index
      %cNch = arith.constant {chunks} : index
      %nkvA = arith.addi %nkv, %c1 : index
      %nkvP = arith.divui %nkvA, %c2 : index
      %nkvF = arith.divui %nkv, %c2 : index
      %zpc = arith.constant dense<0.0> : vector<{zpc}xbf16>
      scf.for %jp = %c0 to %nkvP step %c1 {{
        %ja = arith.muli %jp, %c2 : index
        %jb = arith.addi %ja, %c1 : index
        %hasB = arith.cmpi ult, %jb, %nkv : index
        %jbc = arith.select %hasB, %jb, %ja : index
        %pa = vector.load %sbuf[%ja, %c0] : {ms}, {vr}
        %pbl = vector.load %sbuf[%jbc, %c0] : {ms}, {vr}
        %pbv = arith.select %hasB, %pbl, %zr : {vr}
        %pah = arith.truncf %pa : {vr} to vector<{rows}xbf16>
        %pbh = arith.truncf %pbv : {vr} to vector<{rows}xbf16>
{ip}        vector.store %pi, %pbuf[%jp, %c0] : {mpb}, vector<{rows2}xbf16>
{packV}      }}
)",
      fmt::arg("pc", pc), fmt::arg("chunks", chunks),
      fmt::arg("zpc", inPlace ? 16 : pc), fmt::arg("ms", ms),
      fmt::arg("vr", vr), fmt::arg("rows", rows), fmt::arg("rows2", 2 * rows),
      fmt::arg("mpb", mpb), fmt::arg("packV", packV),
      fmt::arg("ip",
               interleave("%pi", "%pah", "%pbh", rows, "bf16", "        ")));
  std::string init, consts;
  for (int64_t t = 0; t < pieces; ++t) {
    consts += fmt::format("      %cPt{0} = arith.constant {1} : index\n"
                          "      %cPv{0} = arith.constant {2} : index\n",
                          t, 16 * t, 32 * t);
  }
  for (int64_t k = 0; k < q.pr; ++k) {
    consts += fmt::format("      %cPr{0} = arith.constant {0} : index\n", k);
    init += fmt::format("          %rk{0} = arith.addi %r0, %cPr{0} : index\n"
                        "          %rk2{0} = arith.muli %rk{0}, %c2 : index\n"
                        "          %ck{0} = memref.load %crow[%rk{0}] : {1}\n"
                        "          %cvk{0} = vector.broadcast %ck{0} : f32 to "
                        "vector<16xf32>\n",
                        k, mr);
    for (int64_t t = 0; t < pieces; ++t) {
      init += fmt::format(
          "          %pcol{0}_{1} = arith.addi %pcol, %cPt{1} : index\n"
          "          %pa0{2} = vector.load %acc[%rk{0}, %pcol{0}_{1}] : {3}, "
          "vector<16xf32>\n"
          "          %pa1{2} = arith.mulf %pa0{2}, %cvk{0} : vector<16xf32>\n",
          k, t, pieces * k + t, macc);
    }
  }
  // One loop over pairs of keys from `from` to `to`, its accumulators
  // starting at `start(a)`; `odd`: the pair's second key is past the block
  // (in place: its value row is zeros).
  auto pairLoop = [&](const std::string &result, const std::string &from,
                      const std::string &to, auto start, bool odd) {
    std::string body;
    Carried carried;
    if (inPlace) {
      body += "            %ka = arith.muli %jp, %c2 : index\n"
              "            %kja = arith.addi %j0, %ka : index\n"
              "            %vaOff = arith.muli %kja, %cKvRow : index\n"
              "            %vaRow = arith.addi %kvBaseH, %vaOff : index\n"
              "            %vaAt = arith.addi %vaRow, %pcol : index\n"
              "            %vbAt = arith.addi %vaAt, %cKvRow : index\n";
    }
    for (int64_t t = 0; t < pieces; ++t) {
      if (!inPlace) {
        body += fmt::format("            %bv{0} = vector.load %vpk[%ch, %jp, "
                            "%cPv{0}] : {1}, vector<32xbf16>\n",
                            t, mvp);
        continue;
      }
      body += fmt::format(
          "            %vat{0} = arith.addi %vaAt, %cPt{0} : index\n"
          "            %xa{0} = vector.load %V[%vat{0}] : {1}, "
          "vector<16xbf16>\n",
          t, mkv);
      if (!odd) {
        body += fmt::format(
            "            %vbt{0} = arith.addi %vbAt, %cPt{0} : index\n"
            "            %xb{0} = vector.load %V[%vbt{0}] : {1}, "
            "vector<16xbf16>\n",
            t, mkv);
      }
      body += interleave(fmt::format("%bv{}", t), fmt::format("%xa{}", t),
                         odd ? std::string("%zpc") : fmt::format("%xb{}", t),
                         16, "bf16", "            ");
    }
    for (int64_t k = 0; k < q.pr; ++k) {
      body += broadcastPair(fmt::format("%bp{}", k), "%pbuf",
                            fmt::format("%jp, %rk2{}", k), mpb, "            ");
      for (int64_t t = 0; t < pieces; ++t) {
        const int64_t a = k * pieces + t;
        carried.add(fmt::format("%pacc{}", a), start(a),
                    fmt::format("%pn{}", a), "vector<16xf32>");
        body += fmt::format("            %pn{0} = x86vector.avx512.dot "
                            "%pacc{0}, %bv{1}, %bp{2} : vector<32xbf16> -> "
                            "vector<16xf32>\n",
                            a, t, k);
      }
    }
    return fmt::format(
        R"(          {result}:{n} = scf.for %jp = {from} to {to} step %c1 iter_args({iters}) -> ({types}) {{
{body}            scf.yield {next} : {types}
          }}
)",
        fmt::arg("result", result), fmt::arg("n", q.pr * pieces),
        fmt::arg("from", from), fmt::arg("to", to),
        fmt::arg("iters", carried.iters), fmt::arg("types", carried.types),
        fmt::arg("body", body), fmt::arg("next", carried.next));
  };
  auto initial = [](int64_t a) { return fmt::format("%pa1{}", a); };
  // In place, the full pairs then (an odd block) the last key alone: no
  // select per step, and no load past the block's last value row.
  const std::string loops =
      inPlace
          ? pairLoop("%pf", "%c0", "%nkvF", initial, false) +
                pairLoop(
                    "%pv", "%nkvF", "%nkvP",
                    [](int64_t a) { return fmt::format("%pf#{}", a); }, true)
          : pairLoop("%pv", "%c0", "%nkvP", initial, false);
  std::string stores;
  for (int64_t k = 0; k < q.pr; ++k) {
    for (int64_t t = 0; t < pieces; ++t) {
      stores += fmt::format("          vector.store %pv#{0}, %acc[%rk{1}, "
                            "%pcol{1}_{2}] : {3}, vector<16xf32>\n",
                            k * pieces + t, k, t, macc);
    }
  }
  o += consts + fmt::format(
                    R"(      %cPrStep = arith.constant {pr} : index
      scf.for %r0 = %c0 to %cRows step %cPrStep {{
{vHead}        scf.for %ch = %c0 to %cNch step %c1 {{
          %pcol = arith.muli %ch, %cPc : index
{init}{loops}{stores}        }}
      }}
)",
                    fmt::arg("pr", q.pr),
                    fmt::arg("vHead", inPlace ? vHead : std::string()),
                    fmt::arg("init", init), fmt::arg("loops", loops),
                    fmt::arg("stores", stores));
  return o;
}

/// The module for one (problem, params): one block function and the grid.
///
/// A block is (batch, key/value head, tile of bq query positions); its R
/// rows are the group's query heads at those positions. Q is packed once,
/// transposed and pre-scaled (qt[d][R]), so a key's scores for all rows are
/// d broadcast FMAs on vector<R> (no horizontal reductions), ku keys at a
/// time. The online softmax runs on vector<R> across rows; P V accumulates
/// one vector<d> per row, pr rows and (packed, pc > 0) pc columns at a time.
std::string emitModule(const AttentionProblem &p, const Params &q) {
  const bool dot = q.dl > 0;
  const int64_t tiles = (p.sq + q.bq - 1) / q.bq;
  const bool split = q.split > 1;
  const int64_t blocks = tileBlocks(p, q) * q.split;
  const int64_t group = p.hq / p.hkv;
  const int64_t rows = blockRows(p, q);
  const int64_t off = p.skv - p.sq; // causal: query i sees keys <= i + off
  const bool bshd = p.layout == AttentionProblem::Layout::BSHD;
  const int64_t qRowStride = bshd ? p.hq * p.d : p.d;
  const int64_t kvRowStride = bshd ? p.hkv * p.d : p.d;
  const int64_t qHeadStride = bshd ? p.d : p.sq * p.d;
  const int64_t kvHeadStride = bshd ? p.d : p.skv * p.d;
  const int64_t qBatchStride = p.sq * p.hq * p.d;
  const int64_t kvBatchStride = p.skv * p.hkv * p.d;
  const std::string vd = fmt::format("vector<{}xf32>", p.d);
  const std::string vr = fmt::format("vector<{}xf32>", rows);
  const std::string vri = fmt::format("vector<{}xi64>", rows);
  // Tensors in the problem's element type (f32 or bf16); all arithmetic in
  // f32: bf16 loads are extended, the output is rounded once at the store.
  const bool bf16 = p.dtype == DType::BF16;
  const char *et = bf16 ? "bf16" : "f32";
  const std::string mq = fmt::format("memref<{}x{}>", p.qElements(), et);
  const std::string mkv = fmt::format("memref<{}x{}>", p.kvElements(), et);
  const std::string vde = fmt::format("vector<{}x{}>", p.d, et);
  // `name` = element `index` of `mem` as f32 (a load, then for bf16 an
  // extension), each line prefixed by `indent`.
  auto loadScalar = [&](const std::string &indent, const std::string &name,
                        const std::string &mem, const std::string &index,
                        const std::string &memType) {
    if (!bf16) {
      return fmt::format("{}{} = memref.load {}[{}] : {}\n", indent, name, mem,
                         index, memType);
    }
    return fmt::format("{0}{1}h = memref.load {2}[{3}] : {4}\n"
                       "{0}{1} = arith.extf {1}h : bf16 to f32\n",
                       indent, name, mem, index, memType);
  };
  // Q, scaled: transposed (qt[d][R]), or for dot products by rows; for
  // bf16 dot products unscaled bf16 pairs of d elements per row
  // (qt[d/2][R][2], flattened to qt[d/2][2R]).
  // bf16 dot products: the broadcast form (bdot) or the dot-product form
  // (bf16 Q rows, q[R][d], dotScores); both score unscaled.
  const bool unscaled = q.bd > 0;
  const bool bdot = unscaled && !dot;
  const std::string mqt =
      bdot  ? fmt::format("memref<{}x{}xbf16>", p.d / 2, 2 * rows)
      : dot ? dotQtType(p, q)
            : fmt::format("memref<{}x{}xf32>", p.d, rows);
  // Runs of qe elements of d per row side by side (qt[d / qe][R qe]): the
  // broadcast form's pairs, and dot products with dr > 1.
  const int64_t qe = bdot ? 2 : dot && q.dr > 1 ? dotRowElements(q) : 0;
  const std::string qtAt = qe > 0 ? "%e2, %rc" : dot ? "%r, %e" : "%e, %r";
  // qt's column of (row r, element e).
  const std::string pairAt =
      qe > 0 ? fmt::format("          %cQe = arith.constant {} : index\n"
                           "          %e2 = arith.divui %e, %cQe : index\n"
                           "          %eo = arith.remui %e, %cQe : index\n"
                           "          %r2 = arith.muli %r, %cQe : index\n"
                           "          %rc = arith.addi %r2, %eo : index\n",
                           qe)
             : "";
  const std::string storeQ =
      unscaled ? fmt::format("          %xh = memref.load %Q[%qe] : {}\n{}"
                             "          memref.store %xh, %qt[{}] : {}\n",
                             mq, pairAt, qtAt, mqt)
               : loadScalar("          ", "%x", "%Q", "%qe", mq) + pairAt +
                     fmt::format("          %xs = arith.mulf %x, %scale : f32\n"
                                 "          memref.store %xs, %qt[{}] : {}\n",
                                 qtAt, mqt);
  const std::string zeroQ =
      pairAt + fmt::format("          memref.store {}, %qt[{}] : {}\n",
                           unscaled ? "%zeroh" : "%zero", qtAt, mqt);
  const std::string macc = fmt::format("memref<{}x{}xf32>", rows, p.d);
  const std::string ms = fmt::format("memref<{}x{}xf32>", q.bkv, rows);
  const std::string mr = fmt::format("memref<{}xf32>", rows);
  const std::string mri = fmt::format("memref<{}xi64>", rows);
  // Split kernels: the block function's output is the workspace, a (max,
  // sum, d outputs) record per row of every part.
  const int64_t record = p.d + 2;
  const std::string mws = fmt::format("memref<{}xf32>", blocks * rows * record);
  // fmt::arg keeps a reference: the values must outlive the format call.
  auto arg = [](const char *name, const auto &value) {
    return fmt::arg(name, value);
  };

  std::string o;
  o += "module attributes {transform.with_named_sequence} {\n";
  o += fmt::format(
      "  func.func @{}(%Q: {mq}, %K: {mkv}, %V: {mkv}, %O: {mo}, %scale: f32, "
      "%blk: index) {{\n",
      kCpuAttentionSymbol, arg("mq", mq), arg("mkv", mkv),
      arg("mo", split ? mws : mq));
  if (split) {
    // Block = tile * split + part.
    o += fmt::format(R"(    %cS = arith.constant {} : index
    %part = arith.remui %blk, %cS : index
    %tb = arith.divui %blk, %cS : index
)",
                     q.split);
  }
  // Constants, the block's coordinates and its buffers.
  o += fmt::format(
      R"(    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cKu = arith.constant {ku} : index
    %cTiles = arith.constant {tiles} : index
    %cHkv = arith.constant {hkv} : index
    %cGroup = arith.constant {group} : index
    %cBq = arith.constant {bq} : index
    %cBkv = arith.constant {bkv} : index
    %cRows = arith.constant {rows} : index
    %cD = arith.constant {d} : index
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
    %c0i = arith.constant 0 : i64
    %zd = arith.constant dense<0.0> : {vd}
    %zr = arith.constant dense<0.0> : {vr}
    %ninfr = arith.constant dense<0xFF800000> : {vr}
    %t = arith.remui {tileOf}, %cTiles : index
    %bk = arith.divui {tileOf}, %cTiles : index
    %cHb = arith.constant {hb} : index
    %kvhB = arith.remui %bk, %cHkv : index
    %kvh = arith.muli %kvhB, %cHb : index
    %b = arith.divui %bk, %cHkv : index
    %q0 = arith.muli %t, %cBq : index
    %qLeft = arith.subi %cSq, %q0 : index
    %pos = arith.minui %qLeft, %cBq : index
    %kb = arith.muli %b, %cKvBatch : index
    %kh = arith.muli %kvh, %cKvHead : index
    %kvBase = arith.addi %kb, %kh : index
    %qb = arith.muli %b, %cQBatch : index
    %h0 = arith.muli %kvh, %cGroup : index
    %qt = memref.alloca() {{alignment = 64 : i64}} : {mqt}
    %acc = memref.alloca() {{alignment = 64 : i64}} : {macc}
    %sbuf = memref.alloca() {{alignment = 64 : i64}} : {ms}
    %mrow = memref.alloca() {{alignment = 64 : i64}} : {mr}
    %lrow = memref.alloca() {{alignment = 64 : i64}} : {mr}
    %crow = memref.alloca() {{alignment = 64 : i64}} : {mr}
    %limb = memref.alloca() {{alignment = 64 : i64}} : {mri}
{vpk})",
      arg("ku", q.ku), arg("tiles", tiles), arg("hkv", p.hkv / q.hb),
      arg("hb", q.hb), arg("group", group), arg("bq", q.bq), arg("bkv", q.bkv),
      arg("rows", rows), arg("d", p.d), arg("sq", p.sq), arg("skv", p.skv),
      arg("off1", off + 1), arg("qRow", qRowStride), arg("kvRow", kvRowStride),
      arg("qHead", qHeadStride), arg("kvHead", kvHeadStride),
      arg("qBatch", qBatchStride), arg("kvBatch", kvBatchStride), arg("vd", vd),
      arg("vr", vr), arg("mqt", mqt), arg("macc", macc), arg("ms", ms),
      arg("mr", mr), arg("mri", mri), arg("tileOf", split ? "%tb" : "%blk"),
      arg("vpk",
          (q.bd == 2 ? fmt::format("    %pbuf = memref.alloca() {{alignment = "
                                   "64 : i64}} : memref<{}x{}xbf16>\n",
                                   q.bkv / 2, 2 * rows)
                     : std::string()) +
              (q.pc > 0 ? fmt::format("    %vpk = memref.alloca() {{alignment "
                                      "= 64 : i64}} : memref<{}x{}x{}x{}>\n",
                                      p.d / q.pc, q.bd == 2 ? q.bkv / 2 : q.bkv,
                                      q.bd == 2 ? 2 * q.pc : q.pc,
                                      q.bd == 2 ? "bf16" : "f32")
                        : std::string()) +
              (dot ? dotDecls(p, q) : "") +
              (unscaled ? bf16DotDecls(p, q) : "")));
  // Per row r: head h0 + r / bq at position q0 + r % bq. Pack its query row
  // (scaled) as column r of qt and record the keys it may see.
  std::string lim =
      p.causal ? R"(        %limA = arith.addi %qi, %cOff1 : index
        %limS = arith.index_cast %limA : index to i64
        %limC = arith.maxsi %limS, %c0i : i64
        %skvI = arith.index_cast %cSkv : index to i64
        %limR = arith.minsi %limC, %skvI : i64
)"
               : R"(        %limR = arith.index_cast %cSkv : index to i64
)";
  o += fmt::format(
      R"(    scf.for %r = %c0 to %cRows step %c1 {{
      %gh = arith.divui %r, %cBq : index
      %i = arith.remui %r, %cBq : index
      %live = arith.cmpi ult, %i, %pos : index
      %lim = scf.if %live -> (i64) {{
        %h = arith.addi %h0, %gh : index
        %qi = arith.addi %q0, %i : index
        %qhOff = arith.muli %h, %cQHead : index
        %qrOff = arith.muli %qi, %cQRow : index
        %qbh = arith.addi %qb, %qhOff : index
        %qOff = arith.addi %qbh, %qrOff : index
        scf.for %e = %c0 to %cD step %c1 {{
          %qe = arith.addi %qOff, %e : index
{storeQ}        }}
{lim}        scf.yield %limR : i64
      }} else {{
        scf.for %e = %c0 to %cD step %c1 {{
{zeroQ}        }}
        scf.yield %c0i : i64
      }}
      memref.store %lim, %limb[%r] : {mri}
      vector.store %zd, %acc[%r, %c0] : {macc}, {vd}
    }}
    vector.store %ninfr, %mrow[%c0] : {mr}, {vr}
    vector.store %zr, %lrow[%c0] : {mr}, {vr}
    %limv = vector.load %limb[%c0] : {mri}, {vri}
)",
      arg("lim", lim), arg("storeQ", storeQ), arg("zeroQ", zeroQ),
      arg("mri", mri), arg("macc", macc), arg("vd", vd), arg("mr", mr),
      arg("vr", vr), arg("vri", vri));
  // The keys any row sees: all, or (causal) up to the last position's limit.
  if (p.causal) {
    o += R"(    %lastQ = arith.addi %q0, %pos : index
    %lastLim = arith.addi %lastQ, %cOff1 : index
    %lastLimM = arith.subi %lastLim, %c1 : index
    %kvEndS = arith.index_cast %lastLimM : index to i64
    %kvEndC = arith.maxsi %kvEndS, %c0i : i64
    %kvEndI = arith.index_cast %kvEndC : i64 to index
    %kvEnd = arith.minui %kvEndI, %cSkv : index
)";
  } else {
    o += "    %kvEnd = arith.addi %cSkv, %c0 : index\n";
  }
  // A split part walks its share of the tile's bkv blocks: ceil(blocks /
  // split) each, the last parts fewer or none.
  std::string jBegin = "%c0", jEnd = "%kvEnd";
  if (split) {
    o += fmt::format(R"(    %cBkvM1 = arith.constant {bkvm1} : index
    %cSM1 = arith.constant {sm1} : index
    %nbA = arith.addi %kvEnd, %cBkvM1 : index
    %nb = arith.divui %nbA, %cBkv : index
    %perA = arith.addi %nb, %cSM1 : index
    %per = arith.divui %perA, %cS : index
    %pb0 = arith.muli %part, %per : index
    %pb1 = arith.addi %pb0, %per : index
    %jB0 = arith.muli %pb0, %cBkv : index
    %jB1 = arith.muli %pb1, %cBkv : index
    %jBeg = arith.minui %jB0, %kvEnd : index
    %jEnd = arith.minui %jB1, %kvEnd : index
)",
                     arg("bkvm1", q.bkv - 1), arg("sm1", q.split - 1));
    jBegin = "%jBeg";
    jEnd = "%jEnd";
  }
  // Scores for ku keys at a time: d broadcast FMAs on vector<R> each.
  std::string kuBody, kuInit, kuYieldTypes, kuIters, kuStores, kuNext;
  for (int64_t u = 0; u < q.ku; ++u) {
    kuIters += fmt::format("{}%s{} = %zr", u ? ", " : "", u);
    kuYieldTypes += fmt::format("{}{}", u ? ", " : "", vr);
    kuBody += fmt::format(
        R"(            %ko{u} = arith.addi %kOff, %cKo{u} : index
{loadK}            %kb{u} = vector.broadcast %kx{u} : f32 to {vr}
            %n{u} = vector.fma %qv, %kb{u}, %s{u} : {vr}
)",
        arg("u", u), arg("mkv", mkv), arg("vr", vr),
        arg("loadK", loadScalar("            ", fmt::format("%kx{}", u), "%K",
                                fmt::format("%ko{}", u), mkv)));
    kuNext += fmt::format("{}%n{}", u ? ", " : "", u);
    kuStores += fmt::format(R"(          %ju{u} = arith.addi %j, %cU{u} : index
          vector.store %sc#{u}, %sbuf[%ju{u}, %c0] : {ms}, {vr}
)",
                            arg("u", u), arg("ms", ms), arg("vr", vr));
    kuInit += fmt::format("        %cU{u} = arith.constant {u} : index\n"
                          "        %cKo{u} = arith.constant {ko} : index\n",
                          arg("u", u), arg("ko", u * kvRowStride));
  }
  const std::string blockHead = fmt::format(
      R"(    scf.for %j0 = {jBegin} to {jEnd} step %cBkv {{
      %kvLeft = arith.subi {jEnd}, %j0 : index
      %nkv = arith.minui %kvLeft, %cBkv : index
      %nMain0 = arith.divui %nkv, %cKu : index
      %nMain = arith.muli %nMain0, %cKu : index
{kuInit})",
      arg("jBegin", jBegin), arg("jEnd", jEnd), arg("kuInit", kuInit));
  // Key j's row of K.
  const std::string keyRow = R"(        %kj = arith.addi %j0, %j : index
        %kRowOff = arith.muli %kj, %cKvRow : index
        %kRow = arith.addi %kvBase, %kRowOff : index
)";
  // The main loops' key rows with the ku keys' prefetches (pf > 0).
  std::string keyRowPf = keyRow;
  if (q.pf > 0) {
    const int64_t step = 64 / (bf16 ? 2 : 4);
    const int64_t run = (bshd ? q.hb : 1) * p.d;
    keyRowPf +=
        fmt::format("        %pfA = arith.addi %kj, %cPf : index\n"
                    "        %pfK = arith.minui %pfA, %cPfMax : index\n"
                    "        %pfOff = arith.muli %pfK, %cKvRow : index\n"
                    "        %pfRow = arith.addi %kvBase, %pfOff : index\n");
    for (int64_t u = 0; u < q.ku; ++u) {
      for (int64_t l = 0; l < run; l += step) {
        keyRowPf += fmt::format(
            "        %pfk{0}_{1} = arith.addi %pfRow, %cPfo{0}_{1} : index\n"
            "        memref.prefetch %K[%pfk{0}_{1}], read, locality<3>, data "
            ": {2}\n"
            "        %pfv{0}_{1} = arith.addi %kRow, %cPfo{0}_{1} : index\n"
            "        memref.prefetch %V[%pfv{0}_{1}], read, locality<3>, data "
            ": {2}\n",
            u, l, mkv);
        o += fmt::format("    %cPfo{}_{} = arith.constant {} : index\n", u, l,
                         u * kvRowStride + l);
      }
    }
    o += fmt::format("    %cPf = arith.constant {} : index\n"
                     "    %cPfMax = arith.constant {} : index\n",
                     q.pf, std::max<int64_t>(0, p.skv - q.ku));
  }
  if (bdot) {
    // bf16 dot products: ku keys at a time, then the tail's keys one by one.
    o += blockHead + "      scf.for %j = %c0 to %nMain step %cKu {\n" +
         keyRowPf + bf16DotScores(p, q, q.ku, mkv) +
         "      }\n      scf.for %j = %nMain to %nkv step %c1 {\n" + keyRow +
         bf16DotScores(p, q, 1, mkv) + "      }\n";
  } else if (dot) {
    // Dot products: ku keys at a time, then the tail's keys one by one.
    o += blockHead + "      scf.for %j = %c0 to %nMain step %cKu {\n" +
         keyRowPf + dotScoresAll(p, q, q.ku, mkv) +
         "      }\n      scf.for %j = %nMain to %nkv step %c1 {\n" + keyRow +
         dotScoresAll(p, q, 1, mkv) + "      }\n";
  } else {
    // Broadcast FMAs: ku keys at a time, then the tail's keys one by one.
    o += blockHead +
         fmt::format(
             R"(      scf.for %j = %c0 to %nMain step %cKu {{
{keyRowPf}        %sc:{ku} = scf.for %e = %c0 to %cD step %c1 iter_args({kuIters}) -> ({kuYieldTypes}) {{
            %qv = vector.load %qt[%e, %c0] : {mqt}, {vr}
            %kOff = arith.addi %kRow, %e : index
{kuBody}            scf.yield {kuNext} : {kuYieldTypes}
        }}
{kuStores}      }}
      scf.for %j = %nMain to %nkv step %c1 {{
{keyRow}        %s1 = scf.for %e = %c0 to %cD step %c1 iter_args(%s = %zr) -> ({vr}) {{
          %qv = vector.load %qt[%e, %c0] : {mqt}, {vr}
          %kOff = arith.addi %kRow, %e : index
{loadKTail}          %kbv = vector.broadcast %kx : f32 to {vr}
          %n = vector.fma %qv, %kbv, %s : {vr}
          scf.yield %n : {vr}
        }}
        vector.store %s1, %sbuf[%j, %c0] : {ms}, {vr}
      }}
)",
             arg("keyRow", keyRow), arg("keyRowPf", keyRowPf), arg("ku", q.ku),
             arg("kuIters", kuIters), arg("kuYieldTypes", kuYieldTypes),
             arg("mqt", mqt), arg("vr", vr), arg("kuBody", kuBody),
             arg("kuNext", kuNext), arg("kuStores", kuStores), arg("mkv", mkv),
             arg("ms", ms),
             arg("loadKTail",
                 loadScalar("          ", "%kx", "%K", "%kOff", mkv)));
  }
  // P V reads V in place, a whole row per key (no `pc`), or from a packed
  // copy of the block's V, in column chunks of pc: vpk[chunk][key][pc], so a
  // chunk's keys are contiguous (in place they are a row stride apart, 4 KiB
  // for 8 heads of d=128 in BSHD: every key a new page and the same L1 set),
  // bf16 widened once, and the pr rows' accumulators of one chunk stay in
  // registers across the block's keys.
  const bool packed = q.pc > 0;
  const int64_t pc = packed ? q.pc : p.d;
  const int64_t chunks = p.d / pc;
  const std::string vc = fmt::format("vector<{}xf32>", pc);
  const std::string vce = fmt::format("vector<{}x{}>", pc, et);
  const std::string mvp =
      fmt::format("memref<{}x{}x{}xf32>", chunks, q.bkv, pc);
  const std::string col = packed ? "%pcol" : "%c0";
  const std::string loadV =
      packed ? fmt::format(
                   "          %vv = vector.load %vpk[%ch, %j, %c0] : {}, {}\n",
                   mvp, vc)
      : bf16 ? fmt::format("          %vvh = vector.load %V[%vOff] : {}, {}\n"
                           "          %vv = arith.extf %vvh : {} to {}\n",
                           mkv, vde, vde, vd)
             : fmt::format("          %vv = vector.load %V[%vOff] : {}, {}\n",
                           mkv, vd);
  // bf16 outputs are rounded to nearest even in integer arithmetic (NaN
  // stays NaN): arith.truncf would become a call to __truncsfbf2 on hosts
  // without AVX512-BF16, a symbol the code object cannot resolve.
  const std::string storeO =
      bf16 ? fmt::format(
                 R"(        %rbits = arith.bitcast %res : {vd} to {vdi}
        %c16v = arith.constant dense<16> : {vdi}
        %c1v = arith.constant dense<1> : {vdi}
        %cHalf = arith.constant dense<32767> : {vdi}
        %lsbS = arith.shrui %rbits, %c16v : {vdi}
        %lsb = arith.andi %lsbS, %c1v : {vdi}
        %rndA = arith.addi %rbits, %cHalf : {vdi}
        %rnd = arith.addi %rndA, %lsb : {vdi}
        %rhi = arith.shrui %rnd, %c16v : {vdi}
        %r16 = arith.trunci %rhi : {vdi} to {vds}
        %isNan = arith.cmpf uno, %res, %res : {vd}
        %qnan = arith.constant dense<32704> : {vds}
        %rsel = arith.select %isNan, %qnan, %r16 : vector<{d}xi1>, {vds}
        %resh = arith.bitcast %rsel : {vds} to {vde}
        vector.store %resh, %O[%oOff] : {mq}, {vde}
)",
                 arg("vd", vd), arg("vde", vde), arg("mq", mq), arg("d", p.d),
                 arg("vdi", fmt::format("vector<{}xi32>", p.d)),
                 arg("vds", fmt::format("vector<{}xi16>", p.d)))
           : fmt::format("        vector.store %res, %O[%oOff] : {}, {}\n", mq,
                         vd);
  // P V, pr rows at a time: each value row (chunk) is loaded once for the
  // pr rows (their accumulators stay in registers across the block's keys).
  std::string pvInit, pvIters, pvTypes, pvFmas, pvYield, pvStores;
  for (int64_t k = 0; k < q.pr; ++k) {
    // Lazy: a row whose factor is 1 (kept its maximum) is not multiplied.
    pvInit += fmt::format(
        fmt::runtime(q.lazy
                         ? R"(        %rk{k} = arith.addi %r0, %cPr{k} : index
        %ck{k} = memref.load %crow[%rk{k}] : {mr}
        %a0k{k} = vector.load %acc[%rk{k}, {col}] : {macc}, {vd}
        %rsk{k} = arith.cmpf une, %ck{k}, %one : f32
        %a1k{k} = scf.if %rsk{k} -> ({vd}) {{
          %cvk{k} = vector.broadcast %ck{k} : f32 to {vd}
          %ask{k} = arith.mulf %a0k{k}, %cvk{k} : {vd}
          scf.yield %ask{k} : {vd}
        }} else {{
          scf.yield %a0k{k} : {vd}
        }}
)"
                         : R"(        %rk{k} = arith.addi %r0, %cPr{k} : index
        %ck{k} = memref.load %crow[%rk{k}] : {mr}
        %cvk{k} = vector.broadcast %ck{k} : f32 to {vd}
        %a0k{k} = vector.load %acc[%rk{k}, {col}] : {macc}, {vd}
        %a1k{k} = arith.mulf %a0k{k}, %cvk{k} : {vd}
)"),
        arg("k", k), arg("mr", mr), arg("vd", vc), arg("macc", macc),
        arg("col", col));
    pvIters += fmt::format("{}%ak{} = %a1k{}", k ? ", " : "", k, k);
    pvTypes += fmt::format("{}{}", k ? ", " : "", vc);
    pvFmas += fmt::format(
        R"(          %pj{k} = memref.load %sbuf[%j, %rk{k}] : {ms}
          %pjv{k} = vector.broadcast %pj{k} : f32 to {vd}
          %an{k} = vector.fma %pjv{k}, %vv, %ak{k} : {vd}
)",
        arg("k", k), arg("ms", ms), arg("vd", vc));
    pvYield += fmt::format("{}%an{}", k ? ", " : "", k);
    pvStores +=
        fmt::format("        vector.store %pvr#{}, %acc[%rk{}, {}] : {}, {}\n",
                    k, k, col, macc, vc);
  }
  std::string pvConsts;
  for (int64_t k = 0; k < q.pr; ++k) {
    pvConsts += fmt::format("      %cPr{} = arith.constant {} : index\n", k, k);
  }
  std::string pvRows = fmt::format(
      R"({init}        %pvr:{pr} = scf.for %j = %c0 to %nkv step %c1 iter_args({iters}) -> ({types}) {{
{vOff}{loadV}{fmas}          scf.yield {yield} : {types}
        }}
{stores})",
      arg("pr", q.pr), arg("init", pvInit), arg("iters", pvIters),
      arg("types", pvTypes),
      arg("vOff", packed ? ""
                         : "          %kj = arith.addi %j0, %j : index\n"
                           "          %vRowOff = arith.muli %kj, %cKvRow : "
                           "index\n"
                           "          %vOff = arith.addi %kvBaseH, %vRowOff : "
                           "index\n"),
      arg("loadV", loadV), arg("fmas", pvFmas), arg("yield", pvYield),
      arg("stores", pvStores));
  std::string pvPack;
  if (packed) {
    pvConsts += fmt::format("      %cPc = arith.constant {} : index\n"
                            "      %cNch = arith.constant {} : index\n",
                            pc, chunks);
    pvRows = "        scf.for %ch = %c0 to %cNch step %c1 {\n"
             "          %pcol = arith.muli %ch, %cPc : index\n" +
             indentLines(pvRows, 2) + "        }\n";
    // The block's value rows, chunk by chunk, into vpk.
    pvPack = fmt::format(
        R"(      scf.for %j = %c0 to %nkv step %c1 {{
        %kj = arith.addi %j0, %j : index
        %vRowOff = arith.muli %kj, %cKvRow : index
        %vRow = arith.addi %kvBase, %vRowOff : index
        scf.for %ch = %c0 to %cNch step %c1 {{
          %pcol = arith.muli %ch, %cPc : index
          %vOff = arith.addi %vRow, %pcol : index
{load}          vector.store %vw, %vpk[%ch, %j, %c0] : {mvp}, {vc}
        }}
      }}
)",
        arg("mvp", mvp), arg("vc", vc),
        arg("load", bf16 ? fmt::format("          %vwh = vector.load %V[%vOff] "
                                       ": {}, {}\n"
                                       "          %vw = arith.extf %vwh : {} "
                                       "to {}\n",
                                       mkv, vce, vce, vc)
                         : fmt::format("          %vw = vector.load %V[%vOff] "
                                       ": {}, {}\n",
                                       mkv, vc)));
  }
  // V of the pr rows' key/value head (hb > 1: rows r0 / headRows heads
  // past the block's first; pr divides the head's rows).
  const std::string vHead =
      q.hb > 1
          ? fmt::format("        %cHr = arith.constant {} : index\n"
                        "        %hh = arith.divui %r0, %cHr : index\n"
                        "        %hOff = arith.muli %hh, %cKvHead : index\n"
                        "        %kvBaseH = arith.addi %kvBase, %hOff : "
                        "index\n",
                        headRows(p, q))
          : "        %kvBaseH = arith.addi %kvBase, %c0 : index\n";
  const std::string pvLoop =
      q.bd == 2
          ? bf16PvLoop(p, q, mkv, vHead)
          : fmt::format(
                R"({consts}{pack}      %cPrStep = arith.constant {pr} : index
      scf.for %r0 = %c0 to %cRows step %cPrStep {{
{vHead}{rows}      }}
)",
                arg("consts", pvConsts), arg("pack", pvPack), arg("pr", q.pr),
                arg("vHead", packed ? std::string() : vHead),
                arg("rows", pvRows));
  // O = acc / l per live row (0 for a row that saw no key), at the row's
  // (head, position); `%res` and `%oOff` name the values storeO stores.
  auto storeRows = [&](const std::string &rowResult) {
    return fmt::format(
        R"(    scf.for %r = %c0 to %cRows step %c1 {{
      %gh = arith.divui %r, %cBq : index
      %i = arith.remui %r, %cBq : index
      %live = arith.cmpi ult, %i, %pos : index
      scf.if %live {{
        %h = arith.addi %h0, %gh : index
        %qi = arith.addi %q0, %i : index
{rowResult}        %seen = arith.cmpf ogt, %l, %zero : f32
        %linv = arith.divf %one, %l : f32
        %inv = arith.select %seen, %linv, %zero : f32
        %invv = vector.broadcast %inv : f32 to {vd}
        %res = arith.mulf %a, %invv : {vd}
        %ohOff = arith.muli %h, %cQHead : index
        %orOff = arith.muli %qi, %cQRow : index
        %obh = arith.addi %qb, %ohOff : index
        %oOff = arith.addi %obh, %orOff : index
{storeO}      }}
    }}
)",
        arg("rowResult", rowResult), arg("vd", vd), arg("storeO", storeO));
  };
  std::string epilogue, splitFuncs;
  if (!split) {
    epilogue = storeRows(
        fmt::format("        %l = memref.load %lrow[%r] : {}\n"
                    "        %a = vector.load %acc[%r, %c0] : {}, {}\n",
                    mr, macc, vd));
  } else {
    // Every row's state (dead rows too: the merge skips them) at record
    // (blk * rows + r) of the workspace.
    epilogue = fmt::format(
        R"(    %cRec = arith.constant {record} : index
    %wsBlk = arith.muli %blk, %cRows : index
    scf.for %r = %c0 to %cRows step %c1 {{
      %wr = arith.addi %wsBlk, %r : index
      %w0 = arith.muli %wr, %cRec : index
      %w1 = arith.addi %w0, %c1 : index
      %w2 = arith.addi %w1, %c1 : index
      %mr = memref.load %mrow[%r] : {mr}
      %lr = memref.load %lrow[%r] : {mr}
      %ar = vector.load %acc[%r, %c0] : {macc}, {vd}
      memref.store %mr, %O[%w0] : {mws}
      memref.store %lr, %O[%w1] : {mws}
      vector.store %ar, %O[%w2] : {mws}, {vd}
    }}
)",
        arg("record", record), arg("mr", mr), arg("macc", macc), arg("vd", vd),
        arg("mws", mws));
    // The merge: per live row of the tile, every part's state weighted by
    // exp(m_part - max m) (0 for a part that saw no key of the row).
    const std::string merged = fmt::format(
        R"(        %p0 = arith.muli %tile, %cS : index
        %rowBase = arith.muli %p0, %cRows : index
        %rb = arith.addi %rowBase, %r : index
        %top = scf.for %s = %c0 to %cS step %c1 iter_args(%tp = %ninf) -> (f32) {{
          %sr = arith.muli %s, %cRows : index
          %wr = arith.addi %rb, %sr : index
          %w0 = arith.muli %wr, %cRec : index
          %ms = memref.load %WS[%w0] : {mws}
          %tp2 = arith.maximumf %tp, %ms : f32
          scf.yield %tp2 : f32
        }}
        %none = arith.cmpf oeq, %top, %ninf : f32
        %la:2 = scf.for %s = %c0 to %cS step %c1 iter_args(%lacc = %zero, %aacc = %zd) -> (f32, {vd}) {{
          %sr = arith.muli %s, %cRows : index
          %wr = arith.addi %rb, %sr : index
          %w0 = arith.muli %wr, %cRec : index
          %w1 = arith.addi %w0, %c1 : index
          %w2 = arith.addi %w1, %c1 : index
          %ms = memref.load %WS[%w0] : {mws}
          %ls = memref.load %WS[%w1] : {mws}
          %as = vector.load %WS[%w2] : {mws}, {vd}
          %dm = arith.subf %ms, %top : f32
          %e = math.exp %dm : f32
          %wt = arith.select %none, %zero, %e : f32
          %lacc2 = math.fma %wt, %ls, %lacc : f32
          %wv = vector.broadcast %wt : f32 to {vd}
          %aacc2 = vector.fma %wv, %as, %aacc : {vd}
          scf.yield %lacc2, %aacc2 : f32, {vd}
        }}
        %l = arith.addf %la#0, %zero : f32
        %a = arith.addf %la#1, %zd : {vd}
)",
        arg("mws", mws), arg("vd", vd));
    splitFuncs = fmt::format(
        R"(  func.func @{mergeSym}(%WS: {mws}, %O: {mq}, %tile: index) {{
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %cS = arith.constant {split} : index
    %cRec = arith.constant {record} : index
    %cTiles = arith.constant {tiles} : index
    %cHkv = arith.constant {hkv} : index
    %cGroup = arith.constant {group} : index
    %cBq = arith.constant {bq} : index
    %cRows = arith.constant {rows} : index
    %cSq = arith.constant {sq} : index
    %cQRow = arith.constant {qRow} : index
    %cQHead = arith.constant {qHead} : index
    %cQBatch = arith.constant {qBatch} : index
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %zd = arith.constant dense<0.0> : {vd}
    %t = arith.remui %tile, %cTiles : index
    %bk = arith.divui %tile, %cTiles : index
    %cHb = arith.constant {hb} : index
    %kvhB = arith.remui %bk, %cHkv : index
    %kvh = arith.muli %kvhB, %cHb : index
    %b = arith.divui %bk, %cHkv : index
    %q0 = arith.muli %t, %cBq : index
    %qLeft = arith.subi %cSq, %q0 : index
    %pos = arith.minui %qLeft, %cBq : index
    %qb = arith.muli %b, %cQBatch : index
    %h0 = arith.muli %kvh, %cGroup : index
{body}    return
  }}
  func.func @{splitsSym}() -> i64 {{
    %n = arith.constant {split} : i64
    return %n : i64
  }}
  func.func @{wsSym}() -> i64 {{
    %n = arith.constant {wsBytes} : i64
    return %n : i64
  }}
)",
        arg("mergeSym", kCpuAttentionMergeSymbol), arg("mws", mws),
        arg("mq", mq), arg("split", q.split), arg("record", record),
        arg("tiles", tiles), arg("hkv", p.hkv / q.hb), arg("hb", q.hb),
        arg("group", group), arg("bq", q.bq), arg("rows", rows),
        arg("sq", p.sq), arg("qRow", qRowStride), arg("qHead", qHeadStride),
        arg("qBatch", qBatchStride), arg("vd", vd),
        arg("body", storeRows(merged)),
        arg("splitsSym", kCpuAttentionSplitsSymbol),
        arg("wsSym", kCpuAttentionWorkspaceSymbol),
        arg("wsBytes", blocks * rows * record * 4));
  }
  // The rows' new maxima and the factors that rescale their sums and
  // outputs. Eager: every rise moves the maximum. Lazy: a row keeps its
  // stale maximum (factor exactly 1) unless the block raises it by more
  // than the threshold; -inf to a finite maximum is such a rise, -inf to
  // -inf (NaN) is not.
  std::string newMax =
      fmt::format("      %mnew = arith.maximumf %mold, %bmax : {}\n", vr);
  std::string corr = fmt::format("      %corr = math.exp %cd : {}\n", vr);
  if (q.lazy) {
    newMax = fmt::format(
        R"(      %mnext = arith.maximumf %mold, %bmax : {vr}
      %rise = arith.subf %mnext, %mold : {vr}
      %tau = arith.constant dense<{tau}> : {vr}
      %grow = arith.cmpf ogt, %rise, %tau : {vr}
      %mnew = arith.select %grow, %mnext, %mold : vector<{rows}xi1>, {vr}
)",
        arg("vr", vr), arg("rows", rows), arg("tau", kLazyThreshold));
    corr = fmt::format(
        R"(      %cexp = math.exp %cd : {vr}
      %onesr = arith.constant dense<1.0> : {vr}
      %corr = arith.select %grow, %cexp, %onesr : vector<{rows}xi1>, {vr}
)",
        arg("vr", vr), arg("rows", rows));
  }
  // Masks, the online softmax across rows, then P V per row.
  o += fmt::format(
      R"(      %bmax = scf.for %j = %c0 to %nkv step %c1 iter_args(%mx = %ninfr) -> ({vr}) {{
{loadS}        %kj = arith.addi %j0, %j : index
        %kjI = arith.index_cast %kj : index to i64
        %kjv = vector.broadcast %kjI : i64 to {vri}
        %ok = arith.cmpi slt, %kjv, %limv : {vri}
        %sm = arith.select %ok, %s, %ninfr : vector<{rows}xi1>, {vr}
        vector.store %sm, %sbuf[%j, %c0] : {ms}, {vr}
        %mx2 = arith.maximumf %mx, %sm : {vr}
        scf.yield %mx2 : {vr}
      }}
      %mold = vector.load %mrow[%c0] : {mr}, {vr}
{newMax}      %dead = arith.cmpf oeq, %mnew, %ninfr : {vr}
      %mref = arith.select %dead, %zr, %mnew : vector<{rows}xi1>, {vr}
      %cd = arith.subf %mold, %mref : {vr}
{corr}      %psum = scf.for %j = %c0 to %nkv step %c1 iter_args(%ps = %zr) -> ({vr}) {{
        %s = vector.load %sbuf[%j, %c0] : {ms}, {vr}
        %sd = arith.subf %s, %mref : {vr}
        %pv = math.exp %sd : {vr}
        vector.store %pv, %sbuf[%j, %c0] : {ms}, {vr}
        %ps2 = arith.addf %ps, %pv : {vr}
        scf.yield %ps2 : {vr}
      }}
      %lold = vector.load %lrow[%c0] : {mr}, {vr}
      %lsc = arith.mulf %lold, %corr : {vr}
      %lnew = arith.addf %lsc, %psum : {vr}
      vector.store %lnew, %lrow[%c0] : {mr}, {vr}
      vector.store %mnew, %mrow[%c0] : {mr}, {vr}
      vector.store %corr, %crow[%c0] : {mr}, {vr}
{pvLoop}    }}
{epilogue}    return
  }}
  func.func @{blocksSym}() -> i64 {{
    %n = arith.constant {blocks} : i64
    return %n : i64
  }}
{splitFuncs}  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}}) {{
    transform.yield
  }}
}}
)",
      arg("vr", vr), arg("vri", vri), arg("ms", ms), arg("rows", rows),
      arg("mr", mr), arg("vd", vd), arg("macc", macc), arg("mkv", mkv),
      arg("mq", mq), arg("pvLoop", pvLoop), arg("epilogue", epilogue),
      arg("newMax", newMax), arg("corr", corr),
      arg("loadS",
          unscaled ? fmt::format(
                         "        %su = vector.load %sbuf[%j, %c0] : {0}, {1}\n"
                         "        %s = arith.mulf %su, %scaleR : {1}\n",
                         ms, vr)
                   : fmt::format(
                         "        %s = vector.load %sbuf[%j, %c0] : {}, {}\n",
                         ms, vr)),
      arg("blocksSym", kCpuAttentionBlocksSymbol), arg("blocks", blocks),
      arg("splitFuncs", splitFuncs));
  return o;
}

Result<Params> readParams(const Config &c) {
  KT_RETURN_IF_ERROR(requireParams(c, kParams));
  // pr, split, lazy, pc, dl, hb, bd, pf and dr are optional:
  // configurations stored before they existed used 1, 1, 0, all of d,
  // broadcast scores, one key/value head per block, f32 score FMAs, no
  // prefetches and one row per dot-product accumulator.
  return Params{c.get("bq"),    c.get("bkv"),      c.get("ku"),
                c.get("pr", 1), c.get("split", 1), c.get("lazy", 0),
                c.get("pc", 0), c.get("dl", 0),    c.get("hb", 1),
                c.get("bd", 0), c.get("pf", 0),    c.get("dr", 1)};
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
  AttentionProblem pb = p;
  pb.dtype = DType::BF16;
  // Unsplit and split (the part epilogue and the merge), lazy, P V in
  // column chunks, dot-product scores (one and two key/value heads per
  // block, the latter split), and bf16 tensors (f32 FMAs, vdpbf16ps scores
  // split, vdpbf16ps scores and P V from packed V, and dot-product scores
  // with two heads per block, split, P V from V in place and prefetches),
  // broadcast scores with prefetches, and bf16 dot products of several
  // rows per accumulator.
  return sha256Hex(std::string(kGeneratorVersion) + "\n" +
                   emitModule(pb, Params{4, 16, 2, 2}) +
                   emitModule(p, Params{4, 16, 2, 2}) +
                   emitModule(p, Params{4, 16, 2, 2, 2}) +
                   emitModule(p, Params{4, 16, 2, 2, 2, 1}) +
                   emitModule(p, Params{4, 16, 2, 2, 1, 0, 8}) +
                   emitModule(p, Params{4, 16, 2, 2, 1, 0, 0, 8}) +
                   emitModule(p, Params{4, 16, 2, 2, 2, 0, 0, 8, 2}) +
                   emitModule(pb, Params{8, 16, 2, 2, 2, 0, 0, 0, 1, 1}) +
                   emitModule(pb, Params{8, 16, 2, 2, 1, 0, 16, 0, 1, 2}) +
                   emitModule(pb, Params{1, 16, 1, 2, 2, 0, 0, 8, 2, 2, 8}) +
                   emitModule(p, Params{4, 16, 2, 2, 1, 0, 0, 0, 1, 0, 8}) +
                   emitModule(pb, Params{2, 16, 1, 2, 1, 0, 0, 8, 1, 1, 0, 4}))
      .substr(0, 16);
}

double CpuAttentionMlir::probabilityRounding(const Config &config) const {
  // bd = 2 rounds P to bf16 (nearest even) for vdpbf16ps.
  return config.get("bd", 0) == 2 ? std::ldexp(1.0, -8) : 0.0;
}

bool CpuAttentionMlir::supports(const AttentionProblem &problem,
                                const TargetDesc &target) const {
  return target.kind == TargetKind::Cpu &&
         (problem.dtype == DType::F32 || problem.dtype == DType::BF16) &&
         problem.validate().isOk();
}

Status CpuAttentionMlir::validate(const Config &config,
                                  const AttentionProblem &problem,
                                  const TargetDesc &target) const {
  if (!supports(problem, target)) {
    return invalidArgument(fmt::format(
        "{} serves valid f32 and bf16 attention problems on the cpu, not {} "
        "on {}",
        name(), problem.key(), target.toString()));
  }
  KT_ASSIGN_OR_RETURN(Params q, readParams(config));
  auto pow2 = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0; };
  if (!pow2(q.bq) || q.bq > 128) {
    return invalidArgument(fmt::format(
        "bq={}: query positions per block are a power of two up to 128", q.bq));
  }
  if (q.ku != 1 && q.ku != 2 && q.ku != 4 && q.ku != 8) {
    return invalidArgument(
        fmt::format("ku={}: keys scored together are 1, 2, 4 or 8", q.ku));
  }
  const int64_t rows = blockRows(problem, q);
  if (rows > 256) {
    return invalidArgument(fmt::format(
        "bq={} x {} query heads per key/value head = {} rows per block; at "
        "most 256",
        q.bq, problem.hq / problem.hkv, rows));
  }
  if (q.pr != 1 && q.pr != 2 && q.pr != 4 && q.pr != 8) {
    return invalidArgument(
        fmt::format("pr={}: rows per P V step are 1, 2, 4 or 8", q.pr));
  }
  if (q.pc != 0 && (q.pc < 8 || q.pc % 8 != 0 || problem.d % q.pc != 0)) {
    return invalidArgument(
        fmt::format("pc={}: output columns per P V step are 0 (V read in "
                    "place, all d columns) or a multiple of 8 dividing d={}",
                    q.pc, problem.d));
  }
  if ((q.dl != 0 && q.dl != 8 && q.dl != 16) ||
      (q.dl > 0 && problem.d % q.dl != 0)) {
    return invalidArgument(fmt::format(
        "dl={}: score lanes are 0 (broadcast FMAs across the block's rows) or "
        "8 or 16 dividing d={} (dot products over d)",
        q.dl, problem.d));
  }
  const int64_t hr = headRows(problem, q);
  if (q.dl > 0 && hr * q.ku > 64) {
    return invalidArgument(fmt::format(
        "dl={} ku={}: {} rows per key/value head x {} keys = {} dot products "
        "per step; at most 64",
        q.dl, q.ku, hr, q.ku, hr * q.ku));
  }
  if (q.dr != 1 && q.dr != 2 && q.dr != 4) {
    return invalidArgument(fmt::format(
        "dr={}: rows per dot-product accumulator are 1, 2 or 4", q.dr));
  }
  if (q.dr > 1 && (q.dl == 0 || hr % q.dr != 0)) {
    return invalidArgument(fmt::format(
        "dr={}: several rows per accumulator need dot-product scores (dl 8 "
        "or 16, not {}) and dr dividing a key/value head's {} rows",
        q.dr, q.dl, hr));
  }
  if (q.hb != 1 && q.hb != 2 && q.hb != 4 && q.hb != 8 && q.hb != 16) {
    return invalidArgument(fmt::format(
        "hb={}: key/value heads per block are 1, 2, 4, 8 or 16", q.hb));
  }
  if (problem.hkv % q.hb != 0) {
    return invalidArgument(fmt::format(
        "hb={} does not divide the {} key/value heads", q.hb, problem.hkv));
  }
  if (q.hb > 1 && (q.dl == 0 || q.pc != 0 || hr % q.pr != 0)) {
    return invalidArgument(fmt::format(
        "hb={}: several key/value heads per block need dot-product scores "
        "(dl 8 or 16, not {}), V read in place (pc 0, not {}) and pr={} "
        "dividing a head's {} rows",
        q.hb, q.dl, q.pc, q.pr, hr));
  }
  if (q.bd < 0 || q.bd > 2) {
    return invalidArgument(fmt::format(
        "bd={}: bf16 dot products are 0 (none), 1 (scores) or 2 (scores "
        "and P V)",
        q.bd));
  }
  if (q.bd > 0) {
    // What bf16 dot products need that this problem or host lacks.
    std::string lacks;
    auto need = [&](bool ok, const std::string &what) {
      if (!ok) {
        lacks += (lacks.empty() ? "" : ", ") + what;
      }
    };
    need(problem.dtype == DType::BF16,
         fmt::format("bf16 tensors (not {})", dtypeName(problem.dtype)));
    if (q.dl == 0) {
      // Broadcast scores: 16 rows per instruction, pairs of d elements.
      need(rows % 16 == 0,
           fmt::format("a multiple of 16 rows per block (not {})", rows));
      need(problem.d % 2 == 0, fmt::format("an even d (not {})", problem.d));
    } else {
      // Dot products: 2 dl elements of d per step.
      need(problem.d % (2 * q.dl) == 0,
           fmt::format("d a multiple of 2 dl = {} (not {})", 2 * q.dl,
                       problem.d));
      need(q.dl != 8 || target.hasFeature("avx512vl"),
           "for dl 8 a host with AVX512-VL");
    }
    // P V: 16 columns per accumulator, from the packed V block's chunks
    // or (pc 0) from value rows read in place.
    need(q.bd < 2 || q.pc % 16 == 0,
         fmt::format("for P V the packed V block in chunks of a multiple "
                     "of 16 columns or V in place (pc 0, not {})",
                     q.pc));
    need(q.bd < 2 || q.pc > 0 || problem.d % 16 == 0,
         fmt::format("for P V in place a multiple of 16 for d (not {})",
                     problem.d));
    need(target.hasFeature("avx512bf16"),
         fmt::format("a host with AVX512-BF16 ({} lacks it)",
                     target.toString()));
    if (!lacks.empty()) {
      return invalidArgument(
          fmt::format("bd={} (bf16 dot products) needs {}", q.bd, lacks));
    }
  }
  if (blockRows(problem, q) % q.pr != 0) {
    return invalidArgument(
        fmt::format("pr={} does not divide the block's {} rows", q.pr,
                    blockRows(problem, q)));
  }
  if (!pow2(q.bkv) || q.bkv < 8 || q.bkv > 512) {
    return invalidArgument(fmt::format(
        "bkv={}: keys per block are a power of two in 8..512", q.bkv));
  }
  if (q.split < 1 || q.split > kMaxSplit || (q.split & (q.split - 1)) != 0) {
    return invalidArgument(
        fmt::format("split={}: KV splits per tile are a power of two up to {}",
                    q.split, kMaxSplit));
  }
  if (q.split > kvBlocks(problem, q)) {
    return invalidArgument(fmt::format(
        "split={} exceeds the {} blocks of bkv={} keys that skv={} has",
        q.split, kvBlocks(problem, q), q.bkv, problem.skv));
  }
  KT_RETURN_IF_ERROR(attnparams::validateFlag("lazy", q.lazy));
  if (q.pf != 0 && (!pow2(q.pf) || q.pf < 8 || q.pf > 128)) {
    return invalidArgument(fmt::format(
        "pf={}: the prefetch distance is 0 (none) or a power of two in "
        "8..128 keys",
        q.pf));
  }
  if (stackBytes(problem, q) > kMaxStackBytes) {
    return invalidArgument(fmt::format(
        "bq={} bkv={}: the block's {} rows of d={} take {} KiB of stack "
        "(Q^T, accumulators, scores, packed V); at most {} KiB",
        q.bq, q.bkv, rows, problem.d, stackBytes(problem, q) / 1024,
        kMaxStackBytes / 1024));
  }
  return Status::ok();
}

namespace {

/// The cores the defaults fill (at least 1).
int64_t hostCores() {
  return std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
}

/// Key/value heads per block for a default of `rows` rows per head: the
/// most (a power of two dividing hkv) whose rows stay within 16, while the
/// blocks are at least as many as the cores (or as with one head each).
int64_t heads(const AttentionProblem &p, Params q, int64_t rows) {
  const int64_t cores = hostCores();
  q.hb = 1;
  const int64_t want = std::min(cores, tileBlocks(p, q));
  int64_t hb = 1;
  for (int64_t h = 2; h <= 16 && h * rows <= 16 && p.hkv % h == 0; h *= 2) {
    q.hb = h;
    if (tileBlocks(p, q) < want) {
      break;
    }
    hb = h;
  }
  return hb;
}

/// Key/value heads per block for bf16 P V decode (bd 2, `rows` rows per
/// head, BSHD): the most (a power of two dividing hkv, blocks of at most
/// 64 rows) such that the KV split that then gives every core a part
/// leaves each part at least 2048 keys; otherwise `hb`. A block then walks
/// whole runs of each key's heads and the cores take different keys, not
/// different bytes of the same key rows.
int64_t wholeRunHeads(const AttentionProblem &p, Params q, int64_t rows,
                      int64_t hb) {
  const int64_t cores = hostCores();
  for (int64_t h = int64_t(std::bit_floor(uint64_t(64 / rows))); h > hb;
       h /= 2) {
    if (p.hkv % h != 0) {
      continue;
    }
    q.hb = h;
    const int64_t blocks = tileBlocks(p, q);
    const int64_t parts =
        int64_t(std::bit_ceil(uint64_t((cores + blocks - 1) / blocks)));
    if (p.skv / parts >= 2048) {
      return h;
    }
  }
  return hb;
}

} // namespace

Config CpuAttentionMlir::defaultConfig(const AttentionProblem &problem,
                                       const TargetDesc &target) const {
  // Rows (group heads x positions) near 16-64: a few machine vectors of
  // scores per key, enough reuse of each key and value row. bq is a power
  // of two (a group of 3 heads takes 8 positions: 24 rows).
  const int64_t group = problem.hq / problem.hkv;
  const bool avx512 = target.hasFeature("avx512f");
  const int64_t sqCap = int64_t(std::bit_ceil(uint64_t(problem.sq)));
  auto positions = [&](int64_t rows) {
    return std::min<int64_t>(
        int64_t(std::bit_floor(uint64_t(std::max<int64_t>(1, rows / group)))),
        sqCap);
  };
  Params q{positions(32), problem.skv >= 64 ? 64 : 16, 4, 1, 1};
  // AVX-512 blocks of at least 16 rows: 64 rows, 128 keys, and P V from
  // the packed V block, 8 rows by 32 columns at a time (16 zmm
  // accumulators). Measured on AMD Zen 5 against the unpacked default:
  // 1.6-1.7x at sequence 1024. Fewer rows (decode) do not repay the
  // packing copy.
  if (avx512 && group * positions(64) >= 16 && problem.d % 32 == 0) {
    q.bq = positions(64);
    q.bkv = problem.skv >= 128 ? 128 : q.bkv;
    const int64_t rows = blockRows(problem, q);
    q.pr = rows % 8 == 0 ? 8 : rows % 4 == 0 ? 4 : rows % 2 == 0 ? 2 : 1;
    q.pc = 32;
    // bf16 tensors on AVX512-BF16 hosts: scores and P V with vdpbf16ps
    // (P rounded to bf16, as bf16 GEMMs take it). Measured on AMD Zen 5
    // against f32 FMAs: 1.7x at sequence 1024 and 4096, d 128.
    if (problem.dtype == DType::BF16 && target.hasFeature("avx512bf16") &&
        rows % 16 == 0) {
      q.bd = 2;
    }
  } else if (!avx512 && group * q.bq >= 16 && problem.d % 32 == 0) {
    // AVX2 blocks of at least 16 rows (prefill): the ku keys' scores in
    // half the 16 ymm registers (2 keys for 32 rows), and P V from the
    // packed V block, 2 rows by 32 columns (8 ymm accumulators). Measured
    // on an AVX2 (Zen 4 guest) host against the previous default (ku 4, V
    // in place): 1.4-1.5x at sequence 1024 and 4096.
    const int64_t rows = blockRows(problem, q);
    q.ku = std::clamp<int64_t>(
        int64_t(std::bit_floor(uint64_t(std::max<int64_t>(1, 64 / rows)))), 1,
        8);
    q.pr = rows % 2 == 0 ? 2 : 1;
    q.pc = 32;
  } else {
    // Two rows per P V step where their output rows fit in half the
    // vector registers (16 zmm with AVX-512, 8 ymm otherwise).
    const int64_t lanes = avx512 ? 16 : 8;
    q.pr = (group * q.bq) % 2 == 0 && 2 * problem.d / lanes <= 16 ? 2 : 1;
    // AVX2 blocks of at most 8 rows (decode): dot-product scores, 8 sums
    // per step. Measured on an AVX2 (Zen 4 guest) host against the
    // broadcast form: 1.25-1.4x for decode at 4k-64k keys.
    const int64_t rows = blockRows(problem, q);
    // The most keys (a power of two, 1 to 4) whose rows' dot-product
    // accumulators stay within n.
    auto keysWithin = [&](int64_t n) {
      return std::clamp<int64_t>(
          int64_t(std::bit_floor(uint64_t(std::max<int64_t>(1, n / rows)))), 1,
          4);
    };
    if (!avx512 && rows <= 8) {
      q.dl = 8;
      q.ku = keysWithin(8);
      if (problem.layout == AttentionProblem::Layout::BSHD) {
        q.hb = heads(problem, q, rows);
      }
    }
    // AVX-512 blocks of at most 16 rows: dot products in 16 lanes, ku keys
    // x rows filling 16 zmm accumulators (at most 4 keys). In BSHD, with
    // either, the rows of up to 16 / rows key/value heads per block, so
    // that a block reads whole runs of each key's heads. Measured on AMD
    // Zen 5 against the broadcast form: 1.15-1.2x for GQA decode (8 rows),
    // and for MHA decode (1 row, 32 heads) 1.2x with one head per block,
    // 1.75x with 16; AVX2 code on the same host: 1.1-1.35x from the heads
    // per block alone.
    if (avx512 && rows <= 16 && problem.d % 16 == 0) {
      q.dl = 16;
      q.ku = keysWithin(16);
      if (problem.layout == AttentionProblem::Layout::BSHD) {
        q.hb = heads(problem, q, rows);
      }
      // bf16 on AVX512-BF16: the dot products with vdpbf16ps (32 elements
      // of d per step), ku keys x rows filling 8 accumulators (more were
      // slower: MQA 8 rows 0.76x with 2 keys, 1.05x with 1). Measured on
      // AMD Zen 5 against f32 FMAs: 1.1-1.7x.
      if (problem.dtype == DType::BF16 && target.hasFeature("avx512bf16") &&
          problem.d % 32 == 0) {
        q.bd = 1;
        q.ku = keysWithin(8);
        // With 8 or more rows per head (GQA 8:1, MQA): P V with it too, V
        // read in place as pairs of keys, 4 rows (64 columns) per step,
        // and software prefetches 32 keys ahead. Measured on AMD Zen 5
        // against bd=1 without prefetches: 1.05-1.5x at 8 rows per head,
        // 2.5x for d 64; with 4 rows per head 0.8-1.2x, 1 row (MHA) 0.7x,
        // so those keep bd=1 and no prefetches (the space has both).
        // In BSHD, blocks of whole key runs where the keys are long enough
        // (wholeRunHeads). Measured on AMD Zen 5 (2 cores) against half
        // the heads per block: 1.1-1.4x for GQA 16:2, 32:4 and 64:8 at 4k
        // to 128k keys (split 2), 1.2x for 32:4 with batch 2 (no split);
        // at 1k-2k keys 0.83-0.87x, so those keep the heads above.
        if (rows >= 8 && rows % 4 == 0) {
          q.bd = 2;
          q.pr = 4;
          q.pf = 32;
          if (problem.layout == AttentionProblem::Layout::BSHD) {
            q.hb = wholeRunHeads(problem, q, rows, q.hb);
          }
        }
      }
    }
  }
  // Decode with fewer tile blocks than cores: the KV length split until
  // every core has a part, each part keeping at least four key blocks.
  const int64_t cores = hostCores();
  while (q.split < kMaxSplit && tileBlocks(problem, q) * q.split < cores &&
         kvBlocks(problem, q) / (q.split * 2) >= 4) {
    q.split *= 2;
  }
  return Config({{"bq", q.bq},
                 {"bkv", q.bkv},
                 {"ku", q.ku},
                 {"pr", q.pr},
                 {"split", q.split},
                 {"lazy", 0},
                 {"pc", q.pc},
                 {"dl", q.dl},
                 {"hb", q.hb},
                 {"bd", q.bd},
                 {"pf", q.pf},
                 {"dr", q.dr}});
}

std::vector<Config> CpuAttentionMlir::space(const AttentionProblem &problem,
                                            const TargetDesc &target) const {
  const int64_t sqCap = int64_t(std::bit_ceil(uint64_t(problem.sq)));
  const int64_t skvCap =
      std::max<int64_t>(8, int64_t(std::bit_ceil(uint64_t(problem.skv))));
  // P V steps the space had before pc and pr = 8 (whole rows in place, up
  // to 4 rows) stay; the new ones only where a step's accumulators (pr rows
  // of pc, or all d, columns) fit the vector register file, 32 zmm or 16
  // ymm.
  // Vector lanes, and the floats the vector register file holds (32 zmm
  // or 16 ymm).
  const bool avx512 = target.hasFeature("avx512f");
  const int64_t lanes = avx512 ? 16 : 8;
  const int64_t accFloats = (avx512 ? 32 : 16) * lanes;
  const bool fewRows = (problem.hq / problem.hkv) * problem.sq <= 16;
  // Dot-product scores and several heads per block (BSHD) only for
  // decode-like problems; bf16 dot products only for bf16 tensors on
  // AVX512-BF16 hosts.
  const bool bshd = problem.layout == AttentionProblem::Layout::BSHD;
  const bool bf16Dots =
      problem.dtype == DType::BF16 && target.hasFeature("avx512bf16");
  return enumerateSpace(
      defaultConfig(problem, target),
      {{"bq", {1, 2, 4, 8, 16, 32, 64}},
       {"bkv", {16, 32, 64, 128, 256}},
       {"ku", {1, 2, 4, 8}},
       {"pr", {1, 2, 4, 8}},
       {"split", {1, 2, 4, 8, 16}},
       {"lazy", {0, 1}},
       {"pc", {0, 32, 64}},
       {"dl",
        fewRows ? std::vector<int64_t>{0, 8, 16} : std::vector<int64_t>{0}},
       {"hb", fewRows && bshd ? std::vector<int64_t>{1, 2, 4, 8, 16}
                              : std::vector<int64_t>{1}},
       {"bd",
        bf16Dots ? std::vector<int64_t>{0, 1, 2} : std::vector<int64_t>{0}},
       {"pf", fewRows ? std::vector<int64_t>{0, 32} : std::vector<int64_t>{0}},
       {"dr",
        fewRows ? std::vector<int64_t>{1, 2, 4} : std::vector<int64_t>{1}}},
      [&](const Config &c) {
        // Splits only while the tile blocks are few and
        // each part keeps two key blocks.
        const Params q{c.get("bq"), c.get("bkv"), 1, 1, c.get("split"), 0, 0,
                       0,           c.get("hb")};
        if (q.split > 1 && (tileBlocks(problem, q) >= kSplitBlocks ||
                            kvBlocks(problem, q) / q.split < 2)) {
          return false;
        }
        const int64_t pc = c.get("pc") > 0 ? c.get("pc") : problem.d;
        const bool before = c.get("pc") == 0 && c.get("pr") <= 4;
        // Dot-product scores for decode-like problems (a group's whole
        // query in at most 16 rows) where a step's accumulators (ku keys x
        // R / dr of dl lanes) fill at most half the register file, dl at
        // most one machine vector (16 lanes with AVX-512, 8 otherwise).
        const int64_t dl = c.get("dl");
        const Params r{c.get("bq"), c.get("bkv"), c.get("ku")};
        if (dl > 0 &&
            (!fewRows || dl > lanes ||
             headRows(problem, r) / c.get("dr") * r.ku * dl > accFloats / 2)) {
          return false;
        }
        // Several key/value heads per block where it changes how K and V
        // are read (BSHD) and the blocks still fill the cores with splits.
        if (q.hb > 1 && (problem.layout != AttentionProblem::Layout::BSHD ||
                         q.hb > problem.hkv)) {
          return false;
        }
        return c.get("bq") <= sqCap &&
               c.get("bkv") <= std::max<int64_t>(16, skvCap) &&
               (before || c.get("pr") * pc <= accFloats) &&
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

} // namespace kt
