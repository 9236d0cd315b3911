// Internal: checks shared by every family's validate().
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <fmt/format.h>

#include <functional>
#include <span>
#include <vector>

namespace kt {

/// InvalidArgument naming the first of `keys` that `c` lacks.
inline Status requireParams(const Config &c,
                            std::span<const char *const> keys) {
  for (const char *key : keys) {
    if (!c.has(key)) {
      return invalidArgument(
          fmt::format("config '{}' lacks parameter '{}'", c.toString(), key));
    }
  }
  return Status::ok();
}

/// A workgroup tile bm x bn of powers of two in 32..256, split into
/// `unit` tiles ("warp" / "wave") of wm x wn that are multiples of the
/// instruction's mUnit x nUnit block (`block` names it) and divide the tile.
inline Status validateTiling(int64_t bm, int64_t bn, int64_t wm, int64_t wn,
                             int64_t mUnit, int64_t nUnit, const char *unit,
                             const char *block) {
  auto pow2 = [](int64_t v) { return v > 0 && (v & (v - 1)) == 0; };
  if (!pow2(bm) || bm < 32 || bm > 256 || !pow2(bn) || bn < 32 || bn > 256) {
    return invalidArgument(fmt::format(
        "bm={} bn={}: tile sides are powers of two in 32..256", bm, bn));
  }
  if (wm <= 0 || wn <= 0 || wm % mUnit != 0 || wn % nUnit != 0 ||
      bm % wm != 0 || bn % wn != 0) {
    return invalidArgument(fmt::format(
        "wm={} wn={}: {} tiles are multiples of {} x {} ({}) dividing bm={} x "
        "bn={}",
        wm, wn, unit, mUnit, nUnit, block, bm, bn));
  }
  return Status::ok();
}

/// One parameter of a tuning space and the values it takes.
struct Axis {
  const char *name;
  std::vector<int64_t> values;
};

/// A family's space: `first` (its default), then every combination of
/// `axes` (the last axis varying fastest) that `keep` accepts, `first`
/// excepted.
inline std::vector<Config>
enumerateSpace(const Config &first, const std::vector<Axis> &axes,
               const std::function<bool(const Config &)> &keep) {
  std::vector<Config> out = {first};
  Config c;
  std::function<void(size_t)> walk = [&](size_t i) {
    if (i == axes.size()) {
      if (!(c == first) && keep(c)) {
        out.push_back(c);
      }
      return;
    }
    for (int64_t v : axes[i].values) {
      c.set(axes[i].name, v);
      walk(i + 1);
    }
  };
  walk(0);
  return out;
}

/// A bm x bn tile far larger than the problem (a side above `minSide` and
/// at least twice the problem's) only wastes work.
inline bool oversizedTile(const GemmProblem &p, int64_t bm, int64_t bn,
                          int64_t minSide) {
  return (bm > minSide && bm >= 2 * p.m) || (bn > minSide && bn >= 2 * p.n);
}

} // namespace kt
