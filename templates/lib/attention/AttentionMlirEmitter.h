// Internal: writing a GPU attention kernel as MLIR text, for both GPU
// vendors. The base holds what does not depend on the target: SSA names and
// constants, index and f32 arithmetic, cross-lane shuffles, the problem's
// tensor offsets, the causal key limit and block count, the K / V staging
// loop and the module around the kernel; each target's emitter adds its MMA
// and fragment layout (CudaAttentionMlirKernel.cpp: nvvm mma.sync;
// HipAttentionMlirKernel.cpp: amdgpu.mfma).
#pragma once

#include "ktune/problem/AttentionProblem.h"

#include <cstdint>
#include <set>
#include <string>

namespace kt::attnmlirgpu {

class AttentionMlirEmitter {
public:
  explicit AttentionMlirEmitter(const AttentionProblem &p);
  virtual ~AttentionMlirEmitter() = default;

protected:
  std::string tmp() { return "%v" + std::to_string(next_++); }
  void line(const std::string &s) { body_ += "      " + s + "\n"; }
  /// Index constant %cN and i32 constant %iN, defined once at the top.
  std::string c(int64_t v);
  std::string c32(int v);
  std::string add(const std::string &a, const std::string &b);
  std::string mul(const std::string &a, const std::string &b);
  /// arith.<op> on two f32 values.
  std::string fop(const char *op, const std::string &a, const std::string &b);
  /// The value of lane `lane ^ mask` among `width` lanes.
  std::string shuffleXor(const std::string &v, int mask, int width);
  /// memref<n x elem> (the flat tensors).
  std::string flatType(int64_t n) const;
  /// Element offset of (b, head, s, 0) in Q / O (`kv` false) or K / V.
  std::string offset(const std::string &b, const std::string &h,
                     const std::string &s, bool kv);
  /// The CTA's work from gpu.block_id: %h (query head), %b (batch), %kvh
  /// (its KV head), %tile (heaviest causal tiles first) and %q0 (the tile's
  /// first query position), for tiles of `rows` rows.
  void tileCoordinates(int64_t rows);
  /// memref<rows x cols x elem> in workgroup memory.
  std::string workgroupType(int64_t rows, int64_t cols) const;
  /// The first key query position `pos` may not see: skv without a causal
  /// mask, else pos + skv - sq + 1 clamped to [0, skv].
  std::string keyLimit(const std::string &pos);
  /// Blocks of `kv` keys a tile of `rows` query rows from `q0` walks (all
  /// of skv, or up to the last row's diagonal when causal).
  std::string blockCount(const std::string &q0, int64_t rows, int64_t kv);
  /// The K and V rows of block `blk` (keys past skv as zeros) into the
  /// workgroup buffers %sk ([key][d]) and `vBuf` ([key][d], or [d][key]
  /// when `vTransposed`), by `threads` threads; %b and %kvh name the head.
  void loadKv(const std::string &blk, int64_t kv, int64_t threads,
              const std::string &kType, const std::string &vBuf,
              const std::string &vType, bool vTransposed);
  /// The module: gpu.module with `targetAttr`, the kernel kt_attention(Q,
  /// K, V, O, scaleLog2) with `workgroup` attributions around the body
  /// emitted so far, `threads` per block.
  std::string finish(const std::string &header, const std::string &targetAttr,
                     const std::string &workgroup, int64_t threads);

  const AttentionProblem &p_;
  std::string elem_; ///< "bf16" or "f16".

private:
  std::string body_;
  std::set<int64_t> consts_;
  std::set<int> consts32_;
  int next_ = 0;
};

} // namespace kt::attnmlirgpu
