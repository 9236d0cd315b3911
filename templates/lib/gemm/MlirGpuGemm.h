// Internal: writing a GPU GEMM kernel as MLIR text, for both GPU vendors.
// The base class holds what does not depend on the target (tile
// coordinates, the shared-memory tile loads, the alpha/beta store, the
// module around the kernel); each target's emitter adds its MMA
// instruction and fragment layout (MlirGpuGemmNvvm.cpp, MlirGpuGemmRocdl.cpp).
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <set>
#include <string>

namespace kt::mlirgpu {

/// CTA / workgroup tile bm x bn, warp / wave tile wm x wn, K step bk.
struct Tiling {
  int64_t bm, bn, wm, wn, bk;
};

/// Threads of a block: one warp (lanes) per wm x wn tile.
inline int64_t threads(const Tiling &t, int64_t lanes) {
  return (t.bm / t.wm) * (t.bn / t.wn) * lanes;
}

/// Shared memory: the A and B tiles, rows padded by 8 elements.
inline int64_t sharedBytes(const Tiling &t) {
  return (t.bm + t.bn) * (t.bk + 8) * 2;
}

class GemmEmitter {
public:
  GemmEmitter(const Tiling &t, const GemmProblem &p, int64_t lanes);
  virtual ~GemmEmitter() = default;

protected:
  std::string tmp() { return "%v" + std::to_string(next_++); }
  void line(const std::string &s) { body_ += "      " + s + "\n"; }
  /// The name of an index constant (defined once at the top).
  std::string constIndex(int64_t v);
  std::string memrefA() const;
  std::string memrefB() const;
  /// C's type: f32 for an f32 C (outF32), else the input type.
  std::string memrefC() const;
  std::string cElem() const;
  std::string smemType(int64_t rows) const;
  /// %bid, %m0, %n0 (tile origin), %lane, %wm0, %wn0 (warp tile origin).
  void tileCoordinates();
  /// Copies a rows x bk tile of A (isA) or B into `dst` ([rows][bk + 8], K
  /// contiguous whatever the layout), zeros outside the problem.
  void loadTile(const std::string &dst, int64_t rows, bool isA,
                const std::string &k0, const std::string &base);
  /// C[row, col] = alpha * v + beta * C (C not read when beta is 0),
  /// skipped outside the problem, rounded to the input type unless C is f32
  /// (outF32). row = %m0 + %wm0 + rowLane + dr, col = %n0 + %wn0 + colLane +
  /// dc.
  void storeC(const std::string &v, const std::string &rowLane, int64_t dr,
              const std::string &colLane, int64_t dc);
  /// The module: `targetAttr` on the gpu.module, the kernel kt_gemm(A, B,
  /// C, alpha, beta) around the body emitted so far.
  std::string finish(const std::string &header, const std::string &targetAttr);

  const Tiling &t_;
  const GemmProblem &p_;
  const int64_t lanes_;
  std::string elem_; ///< "bf16" or "f16".

private:
  std::string body_;
  std::set<int64_t> consts_;
  int next_ = 0;
};

} // namespace kt::mlirgpu
