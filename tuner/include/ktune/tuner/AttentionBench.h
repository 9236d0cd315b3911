// Rotating-buffer timing inputs, the OpenBLAS-based reference and the
// numerics check for CPU attention kernels.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/CpuAttentionKernel.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/AttentionProblem.h"

#include <functional>
#include <memory>
#include <vector>

namespace kt {

/// Runs O = attention(Q, K, V) for the bound problem.
/// Tensors are of the problem's element type (float, or bf16 bits).
using AttentionRunFn = std::function<void(const void *q, const void *k,
                                          const void *v, void *o, float scale)>;

/// Argument sets whose total size exceeds `bytes` (at least two), seeded
/// uniform data (Q and K in [-2, 2], V in [-1, 1]) in the problem's element
/// type.
class RotatingAttentionArgs {
public:
  RotatingAttentionArgs(const AttentionProblem &p, int64_t bytes,
                        uint64_t seed);
  int sets() const { return int(q_.size()); }
  const void *q(int i) const { return q_[i].data(); }
  const void *k(int i) const { return k_[i].data(); }
  const void *v(int i) const { return v_[i].data(); }
  void *o(int i) { return o_[i].data(); }

private:
  std::vector<std::vector<char>> q_, k_, v_, o_;
};

/// `n` elements of `dtype` (F32 or BF16) as floats.
std::vector<float> attentionToFloat(const void *data, int64_t n, DType dtype);

/// The plain implementation: per (batch, head) and chunk of query rows, the
/// scores with an OpenBLAS sgemm, the masked softmax, then P V with another
/// sgemm. The numerics reference and the benchmark's baseline.
/// With `gemmsOnly` the softmax is skipped: what the same FLOPs take as
/// OpenBLAS GEMMs (a benchmark's yardstick; O is then meaningless).
void referenceAttention(const AttentionProblem &p, const float *q,
                        const float *k, const float *v, float *o, float scale,
                        bool gemmsOnly = false);

/// Checks `run` against referenceAttention on seeded data with O poisoned
/// with NaN. Returns the worst error in units of the tolerance (<= 1
/// passes) or an error saying where it differed. `pRounding`: the
/// relative rounding the kernel applies to each probability before P V
/// (AttentionTemplate::probabilityRounding); it bounds the output's extra
/// error by pRounding x sum_j p_j |v_j| / sum_j p_j, which the tolerance
/// then admits twice over.
Result<double> checkAttention(const AttentionRunFn &run,
                              const AttentionProblem &p, uint64_t seed,
                              double pRounding = 0);

/// A loaded CPU attention code object bound to a device's thread pool.
struct LoadedAttention {
  std::unique_ptr<Module> module;
  CpuAttentionKernel kernel;
  AttentionRunFn runner(CpuDevice &device) const;
};
Result<LoadedAttention> loadAttention(const CpuDevice &device,
                                      const std::string &bytes);

} // namespace kt
