// The tuning space of the CPU GEMM family: enumeration, defaults and the
// compile-free legality check.
#include "ktune/templates/gemm/CpuGemmMlir.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace kt {
namespace {

int64_t roundUp(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

/// Vector registers the micro-kernel may fill with accumulators: 16 ymm
/// (AVX2) or 32 zmm (AVX-512), less one for the B row and one for the
/// broadcast A element.
int64_t accumulatorBudget(const TargetDesc &t, int64_t vw) {
  return (vw == 16 || t.hasFeature("avx512f")) ? 30 : 14;
}

} // namespace

bool CpuGemmMlir::supports(const GemmProblem &problem,
                           const TargetDesc &target) const {
  return target.kind == TargetKind::Cpu && problem.dtype == DType::F32;
}

Status CpuGemmMlir::validate(const Config &c, const GemmProblem &p,
                             const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} supports f32 GEMM on the cpu target only (got {} on {})", name(),
        dtypeName(p.dtype), t.toString()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  for (const char *key :
       {"mc", "nc", "kc", "mr", "nv", "vw", "ku", "order", "pack", "packb"}) {
    if (!c.has(key)) {
      return invalidArgument(
          fmt::format("config '{}' lacks parameter '{}'", c.toString(), key));
    }
  }
  const int64_t mr = c.get("mr"), nv = c.get("nv"), vw = c.get("vw");
  const int64_t mc = c.get("mc"), nc = c.get("nc"), kc = c.get("kc");
  if (vw != 4 && vw != 8 && vw != 16) {
    return invalidArgument(fmt::format("vw={} must be 4, 8 or 16", vw));
  }
  if (vw == 16 && !t.hasFeature("avx512f")) {
    return invalidArgument("vw=16 needs avx512f, which this target lacks");
  }
  if (vw == 8 && !t.hasFeature("avx")) {
    return invalidArgument("vw=8 needs avx, which this target lacks");
  }
  if (mr < 1 || mr > 16 || nv < 1 || nv > 8) {
    return invalidArgument(
        fmt::format("register tile mr={} nv={} out of range (mr 1..16, nv "
                    "1..8)",
                    mr, nv));
  }
  if (mr * nv > accumulatorBudget(t, vw)) {
    return invalidArgument(fmt::format(
        "register tile {}x{} needs {} vector accumulators; the target has "
        "room for {}",
        mr, nv * vw, mr * nv, accumulatorBudget(t, vw)));
  }
  if (mc < mr || mc % mr != 0) {
    return invalidArgument(
        fmt::format("mc={} must be a positive multiple of mr={}", mc, mr));
  }
  if (nc < nv * vw || nc % (nv * vw) != 0) {
    return invalidArgument(fmt::format(
        "nc={} must be a positive multiple of nv*vw={}", nc, nv * vw));
  }
  if (kc < 1) {
    return invalidArgument(fmt::format("kc={} must be positive", kc));
  }
  const int64_t ku = c.get("ku");
  if (ku != 1 && ku != 2 && ku != 4 && ku != 8) {
    return invalidArgument(fmt::format("ku={} must be 1, 2, 4 or 8", ku));
  }
  if (c.get("order") != 0 && c.get("order") != 1) {
    return invalidArgument("order must be 0 (M outer) or 1 (N outer)");
  }
  if (c.get("pack") != 0 && c.get("pack") != 1) {
    return invalidArgument("pack must be 0 or 1");
  }
  if (c.get("packb") != 0 && c.get("packb") != 1) {
    return invalidArgument("packb must be 0 or 1");
  }
  if (p.transB && c.get("packb") != 1) {
    return invalidArgument("packb must be 1 when B is transposed (a "
                           "transposed B is always packed)");
  }
  // Blocks far larger than the problem only duplicate smaller ones.
  if (mc > roundUp(p.m, mr) || nc > roundUp(p.n, nv * vw)) {
    return invalidArgument(fmt::format(
        "block {}x{} exceeds the problem {}x{} rounded to the register tile",
        mc, nc, p.m, p.n));
  }
  // Keep the compiled code a sane size: the generator fully specialises
  // every block, and a packed K x mc panel must fit in a few MiB.
  const int64_t panelLimit = int64_t(16) << 20;
  if (c.get("pack") && p.k * mc * 4 > panelLimit) {
    return invalidArgument("packed A panel (K x mc) exceeds 16 MiB");
  }
  if (c.get("packb") && p.k * nc * 4 > panelLimit) {
    return invalidArgument("packed B panel (K x nc) exceeds 16 MiB");
  }
  return Status::ok();
}

Config CpuGemmMlir::defaultConfig(const GemmProblem &p,
                                  const TargetDesc &t) const {
  const bool wide = t.hasFeature("avx512f");
  const int64_t vw = wide ? 16 : 8;
  const int64_t nv = 2, mr = wide ? 12 : 6;
  const int64_t nr = nv * vw;
  Config c{{"mr", mr},   {"nv", nv},  {"vw", vw},   {"ku", 1},
           {"order", 0}, {"pack", 1}, {"packb", 1}, {"kc", 256}};
  c.set("mc", std::min<int64_t>(8 * mr, roundUp(p.m, mr)));
  c.set("nc", std::min<int64_t>(256, roundUp(p.n, nr)));
  return c;
}

std::vector<Config> CpuGemmMlir::space(const GemmProblem &p,
                                       const TargetDesc &t) const {
  std::set<Config> out;
  std::vector<int64_t> widths = {8};
  if (t.hasFeature("avx512f")) {
    widths.push_back(16);
  }
  struct Tile {
    int64_t mr, nv;
  };
  for (int64_t vw : widths) {
    std::vector<Tile> tiles =
        vw == 16
            ? std::vector<Tile>{{4, 2},  {6, 2}, {8, 2}, {12, 2},
                                {14, 2}, {1, 4}, {2, 4}, {4, 4}}
            : std::vector<Tile>{{4, 2}, {6, 2}, {4, 3}, {1, 4}, {2, 4}, {3, 4}};
    for (Tile tile : tiles) {
      const int64_t nr = tile.nv * vw;
      for (int64_t mcMul : {4, 8, 16}) {
        for (int64_t ncMul : {2, 4, 8}) {
          for (int64_t kc : {128, 256, 512}) {
            for (int64_t ku : {1, 2, 4}) {
              for (int64_t order : {0, 1}) {
                for (int64_t pack : {0, 1}) {
                  for (int64_t packb : {0, 1}) {
                    Config c{{"mr", tile.mr},  {"nv", tile.nv},
                             {"vw", vw},       {"ku", ku},
                             {"order", order}, {"pack", pack},
                             {"packb", packb}, {"kc", std::min(kc, p.k)}};
                    c.set("mc",
                          std::min(tile.mr * mcMul, roundUp(p.m, tile.mr)));
                    c.set("nc", std::min(nr * ncMul, roundUp(p.n, nr)));
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
    }
  }
  return {out.begin(), out.end()};
}

} // namespace kt
