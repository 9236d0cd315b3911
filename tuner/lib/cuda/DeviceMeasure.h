// Internal: the measuring steps every CUDA benchmark shares: inputs, the
// rotating-set count, the on-device numerics check and cold-L2 timing.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/DType.h"
#include "ktune/tuner/CudaGemmBench.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kt::cudabench {

/// Random values in [-1, 1) as bf16 / fp16 bits.
std::vector<uint16_t> randomHalves(size_t n, DType t, uint64_t seed);

/// How many rotating sets of `setBytes` the options ask for (at least 2;
/// enough to cover twice the L2 by default); FailedPrecondition naming
/// `what` where they do not fit in half the GPU's memory.
Result<int64_t> rotatingSets(int64_t setBytes, const cuda::DeviceInfo &device,
                             const CudaBenchOptions &options,
                             const std::string &what);

/// The reference kernels (ReferenceKernels.h) compiled for the device.
struct ReferenceModule {
  cuda::LoadedModule module;
  void *check = nullptr; ///< kt_check
  Status load(const cuda::Context &ctx, const cuda::DeviceInfo &device);
};

/// Compares `rows` x `cols` outputs at `out` (row pitch `ld`) with `ref`
/// (f32, packed) on the device, tolerance 2^-7 |ref| + 1e-4 mag + absTol
/// (`mag` 0: none). Sets m.maxError, and m.status / m.message on a
/// mismatch; a non-ok Status is a failed launch or copy.
Status checkOutput(const cuda::Context &ctx, const ReferenceModule &refs,
                   const cuda::DeviceBuffer &verdict, uint64_t out, int ld,
                   uint64_t ref, uint64_t mag, int64_t rows, int64_t cols,
                   DType dtype, float absTol, CudaMeasurement &m);

/// A "launch-failed" result for a host-side rejection (scratch that could
/// not be allocated, a launch the problem does not suit): the context is
/// fine.
CudaMeasurement rejected(const Status &why);

/// The split-K / split-KV scratch a bench shares among its rotating sets
/// (launches run one after another on the stream; each leaves the
/// semaphores zeroed for the next), grown on demand.
struct SplitScratch {
  cuda::DeviceBuffer workspace, semaphores;
  /// At least `bytes` of workspace and `count` zeroed semaphores.
  Status prepare(const cuda::Context &ctx, uint64_t bytes, uint64_t count);
};

/// The output under test: `rows` x `cols` elements of `dtype` at `out`
/// (row pitch `ld`), compared with `ref` (f32, packed; `mag` 0 or the
/// per-element magnitudes) within `absTol` beyond the relative bound.
struct CheckedOutput {
  const cuda::DeviceBuffer *buffer = nullptr;
  int ld = 0;
  uint64_t ref = 0, mag = 0;
  int64_t rows = 0, cols = 0;
  DType dtype = DType::BF16;
  float absTol = 0;
};

/// What every candidate goes through: its output poisoned with NaN, one
/// run on set 0, the on-device check, then timeRotating(). A failure after
/// a launch sets `contextLost` (the context may hold a sticky fault).
CudaMeasurement checkThenTime(const cuda::Context &ctx,
                              const ReferenceModule &refs,
                              const cuda::DeviceBuffer &verdict,
                              const CheckedOutput &output,
                              const std::function<Status(size_t)> &launch,
                              size_t sets, const CudaBenchOptions &options,
                              double abandonAboveMs, bool &contextLost);

/// Warm-up, then batches of one launch per set (each set cold in L2 when
/// its turn comes) until the options' time cap; fills m's median, count
/// and dispersion. `abandonAboveMs` > 0 stops after a first batch slower
/// than it.
Status timeRotating(const cuda::Context &ctx,
                    const std::function<Status(size_t)> &launch, size_t sets,
                    const CudaBenchOptions &options, double abandonAboveMs,
                    CudaMeasurement &m);

} // namespace kt::cudabench
