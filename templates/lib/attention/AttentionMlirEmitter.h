// Internal: writing a GPU attention kernel as MLIR text, for both GPU
// vendors. The base holds what does not depend on the target: SSA names and
// constants, index and f32 arithmetic, cross-lane shuffles, the problem's
// tensor offsets, the work decomposition (query tiles, GQA packing, KV
// splits), the causal key limit and block range, the K / V staging by
// `stages` (synchronous, or the next block fetched into registers during
// the compute), the split-KV merge and the module around the kernel; each
// target's emitter adds its MMA and fragment layout
// (CudaAttentionMlirKernel.cpp: nvvm mma.sync; HipAttentionMlirKernel.cpp:
// amdgpu.mfma).
#pragma once

#include "ktune/problem/AttentionProblem.h"

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kt::attnmlirgpu {

/// How the CTAs divide the problem: query tiles of `rows` rows, with
/// `pack` the rows of a tile are (position, query head) pairs of one GQA
/// group, and each tile's KV blocks are divided among `split` CTAs.
struct AttentionWork {
  int64_t rows = 16, split = 1;
  bool pack = false;
  /// The softmax numerics variant: lazy rescaling (see newMaxima()).
  bool lazy = false;
  /// K / V staging: 1 synchronous, 2 the next block prefetched into
  /// registers (see stageTop()).
  int64_t stages = 1;
  /// With stages=2, NVIDIA only: the next block is copied with cp.async
  /// (nvgpu.device_async_copy) into the second of two shared buffers
  /// instead of through registers (see stageTop()).
  bool async = false;
};

/// Where the KV loop stages a block: K as %sk ([key][d], rows padded),
/// V as `vBuf` ([key][d], or [d][key] when `vTransposed`).
struct KvBuffers {
  int64_t kv, threads;
  std::string kType, vBuf, vType;
  bool vTransposed;
  /// With async: %skb and %svb hold two blocks each, of this type
  /// ([2][key][d], rows padded); %sk and `vBuf` (of types kType and vType)
  /// are views of the block being computed, defined by stageTop().
  std::string pairType;
};

/// A block's K and V as a thread fetched it with stages=2: 16-byte
/// vectors, chunk i being the block's chunk %tid + i * threads (key `row`,
/// d columns [col, col + 8)); `inRange` is "" or the i1 of a chunk past the
/// block. Empty with stages=1.
struct KvFetch {
  std::vector<std::string> k, v, row, col, inRange;
};

/// One query row's online-softmax state as a thread holds it: the running
/// maximum (scaled, log2 domain), the thread's share of the sum and its
/// outputs of the row (f32 SSA values).
struct RowState {
  std::string m, l;
  std::vector<std::string> o;
};

class AttentionMlirEmitter {
public:
  AttentionMlirEmitter(const AttentionProblem &p, const AttentionWork &w);
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
  /// exp2 of an f32 value with the target's instruction.
  virtual std::string exp2(const std::string &x) = 0;
  /// An i1 that is true in every lane of the warp / wave where `pred` (i1)
  /// is true in some lane (all lanes must reach it).
  virtual std::string anyLane(const std::string &pred) = 0;
  /// The online softmax's new running maxima (log2 domain) from the
  /// thread's rows' maxima `m` and the maxima with the block's scores,
  /// `next`. Eager: `next`; the returned vote is "". Lazy (FlashAttention-4's
  /// lazy rescaling): the warp / wave votes whether any of its rows grows
  /// by more than 8 (-inf to finite is growth, -inf to -inf is not); if so
  /// every row takes `next`, else every row keeps its stale maximum, so
  /// P = exp2(s - m) <= 2^8 and O and l need no rescale. Returns the vote
  /// (i1, uniform across the lanes).
  std::string newMaxima(const std::vector<std::string> &m,
                        std::vector<std::string> &next);
  /// The rescale factor exp2(m - base): with a vote, exactly 1 where the
  /// vote is false.
  std::string rescaleFactor(const std::string &m, const std::string &base,
                            const std::string &vote);
  /// `o` (values of `type`) times `factor` (one per value, of `type`).
  /// With a vote the products sit in an scf.if on it, so a block that
  /// keeps its maxima skips them.
  std::vector<std::string> rescale(const std::vector<std::string> &o,
                                   const std::vector<std::string> &factor,
                                   const std::string &type,
                                   const std::string &vote);
  /// The CTA's work from gpu.block_id: %slot (its tile, counted over
  /// batch and head units), %split (its share of the KV blocks, with
  /// split > 1), %b (batch), %kvh (KV head), %h (query head, without
  /// pack), %tile (heaviest causal tiles first) and %q0 (the tile's first
  /// row of its head unit).
  void tileCoordinates();
  /// Rows of a head unit: sq, or sq times the group with pack.
  int64_t unitRows() const;
  /// The query position and head of head-unit row `row` (in range).
  std::pair<std::string, std::string> rowPositionHead(const std::string &row);
  /// The query position of head-unit row `row` (any row).
  std::string rowPosition(const std::string &row);
  /// memref<rows x cols x elem> in workgroup memory.
  std::string workgroupType(int64_t rows, int64_t cols) const;
  /// The first key query position `pos` may not see: skv without a causal
  /// mask, else pos + skv - sq + 1 clamped to [0, skv].
  std::string keyLimit(const std::string &pos);
  /// The blocks of `kv` keys this CTA walks, [first, second): of the
  /// blocks its tile walks (all of skv, or up to the last row's diagonal
  /// when causal), its split's even share.
  std::pair<std::string, std::string> blockRange(int64_t kv);
  /// With split > 1: stores this CTA's partial row states (`values` f32
  /// values per thread, `threads` threads) in the workspace, counts the
  /// CTA in its tile's semaphore, and in the tile's last CTA merges every
  /// split's states into `rows` (weights exp2(m_split - max m)) and resets
  /// the semaphore. Returns the i1 under which the CTA stores O (true
  /// without split).
  std::string mergeSplits(std::vector<RowState> &rows, int64_t threads);
  /// `a` and `b` (i1 values), or `a` where `b` is empty.
  std::string both(const std::string &a, const std::string &b);
  /// " split=S pack=P" for the module's header where not 1 / 0, then
  /// " lazy=1" for lazy rescaling, " stages=S" where not 1 and " async=1".
  std::string workText() const;
  /// The LLVM sync scope of the whole device ("device" for NVPTX, "agent"
  /// for AMDGPU): the split semaphore's atomic and the release / acquire
  /// fences around it use it, not the system scope (which on AMDGPU writes
  /// back and invalidates the whole L2 around the atomic).
  virtual const char *deviceScope() const = 0;
  /// The K / V staging of the KV loop over blocks [blk0, blk1), by
  /// `stages`. stages=1: each iteration loads its block %blk element by
  /// element into the buffers (loadKv) and waits at a barrier before the
  /// compute. stages=2: the first block is fetched and stored before the
  /// loop (stageFirst); each iteration issues the 16-byte loads of block
  /// %blk + 1 into registers before its compute (stageTop, which returns
  /// them), so their latency hides behind the compute, and stores them
  /// after the compute's closing barrier, then waits at another
  /// (stageBottom). stages=2 with async: the first block is copied into
  /// buffer blk0 % 2 before the loop; each iteration takes views %sk / V of
  /// buffer %blk % 2, issues the copies of %blk + 1 into the other buffer,
  /// waits until at most that group is in flight (its own block has
  /// landed) and at a barrier; the compute's closing barrier keeps the
  /// next iteration's copies off the buffer until every warp is done.
  void stageFirst(const std::string &blk0, const std::string &blk1,
                  const KvBuffers &buf);
  KvFetch stageTop(const std::string &blk1, const KvBuffers &buf);
  void stageBottom(const KvFetch &next, const KvBuffers &buf);
  /// The module: gpu.module with `targetAttr`, the kernel kt_attention(Q,
  /// K, V, O, scaleLog2[, workspace, semaphores]) with `workgroup`
  /// attributions around the body emitted so far, `threads` per block.
  /// Split kernels take the workspace and semaphores (and have a
  /// workgroup counter %arrived).
  std::string finish(const std::string &header, const std::string &targetAttr,
                     const std::string &workgroup, int64_t threads);

  const AttentionProblem &p_;
  const AttentionWork w_;
  std::string elem_; ///< "bf16" or "f16".

private:
  /// The K and V rows of block `blk` (keys past skv as zeros) into the
  /// buffers element by element; %b and %kvh name the head.
  void loadKv(const std::string &blk, const KvBuffers &buf);
  /// Loads block `blk`'s chunks (zeros for keys past skv and where `live`
  /// is false) with 16-byte vector loads (the launch requires K and V
  /// 16-byte aligned; d is a multiple of 8).
  KvFetch fetchKv(const std::string &blk, const std::string &live,
                  const KvBuffers &buf);
  /// async: issues the cp.async copies of block `blk` (where `live`) into
  /// buffer `slot` of %skb / %svb, keys past the sequence zero-filled, and
  /// commits them as one group (empty where not live); returns its token.
  std::string copyKvAsync(const std::string &blk, const std::string &live,
                          const std::string &slot, const KvBuffers &buf);
  /// Chunk i * threads + %tid of block `blk`: 8 elements of K / V at key
  /// `key` (row `row` of the block), d columns [col8, col8 + 8).
  struct KvChunk {
    std::string e, row, col8, key;
  };
  KvChunk chunk(int64_t i, const std::string &blk, const KvBuffers &buf);
  /// Stores fetched chunks into the buffers.
  void storeKv(const KvFetch &f, const KvBuffers &buf);
  /// Elements of the workspace and semaphore memrefs.
  int64_t tiles() const;
  int64_t workspaceElements_ = 0;
  std::string body_;
  std::set<int64_t> consts_;
  std::set<int> consts32_;
  int next_ = 0;
};

} // namespace kt::attnmlirgpu
