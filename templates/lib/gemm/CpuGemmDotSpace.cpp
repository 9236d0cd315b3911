// The tuning space of the CPU dot-product GEMM family: enumeration, defaults
// and the compile-free legality check.
#include "ktune/templates/gemm/CpuGemmDotMlir.h"

#include "CpuGemmCommon.h"

#include <fmt/format.h>

#include <cstdlib>
#include <set>

namespace kt {
namespace {

using cpugemm::roundUp;

/// Vector registers of the ISA: accumulators plus the mr A vectors and one
/// B vector live in the inner loop must fit.
int64_t vectorRegisters(const TargetDesc &t, int64_t vw) {
  return (vw == 16 || t.hasFeature("avx512f")) ? 32 : 16;
}

/// K chunks to try: divisors of K that are multiples of vw, nearest to a few
/// cache-sized targets, plus K itself.
std::vector<int64_t> kChunks(int64_t k, int64_t vw) {
  std::set<int64_t> out = {k};
  for (int64_t target : {256, 512, 1024}) {
    int64_t best = 0;
    for (int64_t d = vw; d <= k; d += vw) {
      if (k % d == 0 &&
          (best == 0 || std::llabs(d - target) < std::llabs(best - target))) {
        best = d;
      }
    }
    if (best > 0) {
      out.insert(best);
    }
  }
  return {out.begin(), out.end()};
}

} // namespace

bool CpuGemmDotMlir::supports(const GemmProblem &p, const TargetDesc &t) const {
  return t.kind == TargetKind::Cpu && p.dtype == DType::F32 && !p.transA &&
         p.transB && p.k % 8 == 0;
}

Status CpuGemmDotMlir::validate(const Config &c, const GemmProblem &p,
                                const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} supports f32 NT GEMM with K a multiple of 8 on the cpu target "
        "only (got {} {} K={} on {})",
        name(), dtypeName(p.dtype), p.layout(), p.k, t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  for (const char *key : {"mc", "nc", "kc", "mr", "nr", "vw", "ku", "order"}) {
    if (!c.has(key)) {
      return invalidArgument(
          fmt::format("config '{}' lacks parameter '{}'", c.toString(), key));
    }
  }
  const int64_t mr = c.get("mr"), nr = c.get("nr"), vw = c.get("vw");
  const int64_t mc = c.get("mc"), nc = c.get("nc"), kc = c.get("kc");
  if (vw != 8 && vw != 16) {
    return invalidArgument(fmt::format("vw={} must be 8 or 16", vw));
  }
  if (vw == 16 && !t.hasFeature("avx512f")) {
    return invalidArgument("vw=16 needs avx512f, which this target lacks");
  }
  if (vw == 8 && !t.hasFeature("avx")) {
    return invalidArgument("vw=8 needs avx, which this target lacks");
  }
  if (p.k % vw != 0) {
    return invalidArgument(
        fmt::format("K={} is not a multiple of vw={}", p.k, vw));
  }
  if (mr < 1 || mr > 8 || nr < 1 || nr > 16) {
    return invalidArgument(fmt::format(
        "register tile mr={} nr={} out of range (mr 1..8, nr 1..16)", mr, nr));
  }
  if (mr * nr + mr + 1 > vectorRegisters(t, vw)) {
    return invalidArgument(fmt::format(
        "register tile {}x{} needs {} vector registers (accumulators, A rows, "
        "a B row); the target has {}",
        mr, nr, mr * nr + mr + 1, vectorRegisters(t, vw)));
  }
  if (mc < mr || mc % mr != 0) {
    return invalidArgument(
        fmt::format("mc={} must be a positive multiple of mr={}", mc, mr));
  }
  if (nc < nr || nc % nr != 0) {
    return invalidArgument(
        fmt::format("nc={} must be a positive multiple of nr={}", nc, nr));
  }
  if (kc < vw || kc % vw != 0 || p.k % kc != 0) {
    return invalidArgument(fmt::format(
        "kc={} must be a multiple of vw={} that divides K={}", kc, vw, p.k));
  }
  const int64_t ku = c.get("ku");
  if (ku != 1 && ku != 2 && ku != 4 && ku != 8) {
    return invalidArgument(fmt::format("ku={} must be 1, 2, 4 or 8", ku));
  }
  if (c.get("order") != 0 && c.get("order") != 1) {
    return invalidArgument("order must be 0 (M outer) or 1 (N outer)");
  }
  if (mc > roundUp(p.m, mr) || nc > roundUp(p.n, nr)) {
    return invalidArgument(fmt::format(
        "block {}x{} exceeds the problem {}x{} rounded to the register tile",
        mc, nc, p.m, p.n));
  }
  // The per-lane partial sums of a block live in one buffer.
  if (mc * nc * vw * 4 > (int64_t(8) << 20)) {
    return invalidArgument(fmt::format(
        "block {}x{} needs {} MiB of lane partial sums (limit 8 MiB)", mc, nc,
        mc * nc * vw * 4 >> 20));
  }
  return Status::ok();
}

Config CpuGemmDotMlir::defaultConfig(const GemmProblem &p,
                                     const TargetDesc &t) const {
  const int64_t vw = t.hasFeature("avx512f") && p.k % 16 == 0 ? 16 : 8;
  const int64_t mr = std::min<int64_t>(p.m, vw == 16 ? 4 : 2);
  const int64_t nr = vw == 16 ? (mr >= 4 ? 5 : 8) : (mr >= 2 ? 4 : 8);
  Config c{{"mr", mr}, {"nr", nr}, {"vw", vw}, {"ku", 1}, {"order", 1}};
  c.set("kc", p.k);
  c.set("mc", std::min<int64_t>(8 * mr, roundUp(p.m, mr)));
  c.set("nc", std::min<int64_t>(16 * nr, roundUp(p.n, nr)));
  return c;
}

std::vector<Config> CpuGemmDotMlir::space(const GemmProblem &p,
                                          const TargetDesc &t) const {
  std::set<Config> out;
  std::vector<int64_t> widths = {8};
  if (t.hasFeature("avx512f")) {
    widths.push_back(16);
  }
  struct Tile {
    int64_t mr, nr;
  };
  for (int64_t vw : widths) {
    std::vector<Tile> tiles =
        vw == 16 ? std::vector<Tile>{{1, 8}, {1, 12}, {1, 16}, {2, 8}, {2, 12},
                                     {3, 6}, {4, 4},  {4, 5},  {5, 4}}
                 : std::vector<Tile>{{1, 4}, {1, 8}, {2, 4}, {2, 5}, {3, 3}};
    for (Tile tile : tiles) {
      const int64_t mr = std::min(tile.mr, p.m);
      for (int64_t mcMul : {1, 4, 16}) {
        for (int64_t ncMul : {2, 8, 32}) {
          for (int64_t kc : kChunks(p.k, vw)) {
            for (int64_t ku : {1, 2, 4}) {
              for (int64_t order : {0, 1}) {
                Config c{{"mr", mr}, {"nr", tile.nr},  {"vw", vw},
                         {"ku", ku}, {"order", order}, {"kc", kc}};
                c.set("mc", std::min(mr * mcMul, roundUp(p.m, mr)));
                c.set("nc", std::min(tile.nr * ncMul, roundUp(p.n, tile.nr)));
                if (validate(c, p, t).isOk()) {
                  out.insert(c);
                }
              }
            }
          }
        }
      }
    }
  }
  return {out.begin(), out.end()};
}

} // namespace kt
