// An attention (scaled dot-product, flash-attention forward) problem, with
// its canonical key and signature syntax (docs/problems.md, "Attention").
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/DType.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace kt {

/// O = softmax(scale * Q K^T + mask) V per (batch, query head), with key and
/// value head h * hkv / hq for query head h (MHA: hkv = hq; GQA: hq a
/// multiple of hkv; MQA: hkv = 1). Tensors are dense, in `layout`:
///   BSHD: Q and O [batch, sq, hq, d], K and V [batch, skv, hkv, d];
///   BHSD: Q and O [batch, hq, sq, d], K and V [batch, hkv, skv, d].
/// Causal masking is aligned to the bottom right, as for a KV cache: query
/// i sees keys j <= i + (skv - sq), so a one-row decode sees every key.
/// With sq > skv the first sq - skv query rows see no key; their output is
/// 0 by definition. `scale` is a launch argument (default 1/sqrt(d)).
struct AttentionProblem {
  enum class Layout { BSHD, BHSD };
  DType dtype = DType::F32;
  Layout layout = Layout::BSHD;
  int64_t batch = 1, hq = 1, hkv = 1, sq = 1, skv = 1, d = 64;
  bool causal = false;

  /// Sizes positive, hq a multiple of hkv, d a multiple of 8 up to 256.
  Status validate() const;
  /// "attn_f32_BSHD_b1_hq32_hkv8_sq1024_skv1024_d128[_causal]", also the
  /// signature syntax.
  std::string key() const;
  const char *layoutName() const {
    return layout == Layout::BSHD ? "BSHD" : "BHSD";
  }
  /// 4 * b * hq * sq * skv * d, halved when causal (the convention of
  /// attention benchmarks; the masked half is not counted).
  double flops() const;
  /// Elements of Q (= O) and of K (= V).
  int64_t qElements() const { return batch * hq * sq * d; }
  int64_t kvElements() const { return batch * hkv * skv * d; }
  /// Element offsets of (b, head, s, 0) in Q/O and in K/V.
  int64_t qOffset(int64_t b, int64_t h, int64_t s) const {
    return layout == Layout::BSHD ? ((b * sq + s) * hq + h) * d
                                  : ((b * hq + h) * sq + s) * d;
  }
  int64_t kvOffset(int64_t b, int64_t h, int64_t s) const {
    return layout == Layout::BSHD ? ((b * skv + s) * hkv + h) * d
                                  : ((b * hkv + h) * skv + s) * d;
  }
  /// Query tiles of `rows` rows over every (batch, head unit). A head unit
  /// is a query head or, with `pack` > 1, a key/value head whose `pack`
  /// (= hq / hkv) query heads are tiled together: sq * pack rows.
  int64_t queryTiles(int64_t rows, int64_t pack = 1) const {
    return (sq * pack + rows - 1) / rows * (pack > 1 ? hkv : hq) * batch;
  }
  /// The first key query row `i` may not see (causal), or skv.
  int64_t keyLimit(int64_t i) const {
    if (!causal) {
      return skv;
    }
    int64_t limit = i + (skv - sq) + 1;
    return limit < 0 ? 0 : (limit > skv ? skv : limit);
  }

  bool operator==(const AttentionProblem &) const = default;
};

/// Parses key()'s syntax; the fields may come in any order after the
/// layout, "_causal" is optional. InvalidArgument naming what is wrong.
Result<AttentionProblem> parseAttentionProblem(std::string_view sig);

/// True if `sig` names an attention problem (starts with "attn_").
bool isAttentionSignature(std::string_view sig);

} // namespace kt
