// Internal: the MLIR source generator of cuda.gemm.mlir.
#pragma once

#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <set>
#include <string>

namespace kt::mlirgemm {

struct Params {
  int64_t bm, bn, wm, wn, bk;
};

inline Params readParams(const Config &c) {
  return {c.get("bm"), c.get("bn"), c.get("wm"), c.get("wn"), c.get("bk")};
}

/// One warp per wm x wn warp tile.
inline int64_t threads(const Params &q) {
  return (q.bm / q.wm) * (q.bn / q.wn) * 32;
}

/// Static shared memory: the A and B tiles, rows padded by 8 elements.
inline int64_t sharedBytes(const Params &q) {
  return (q.bm + q.bn) * (q.bk + 8) * 2;
}

/// The module for `arch` ("sm_90a", "sm_100a").
std::string kernelSource(const Params &q, const GemmProblem &p,
                         const std::string &arch);

} // namespace kt::mlirgemm
