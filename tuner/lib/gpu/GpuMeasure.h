// Internal: the measuring steps every GPU benchmark shares, whatever the
// vendor: inputs, the rotating-set count, the on-device numerics check and
// cold-cache timing. Written once against the context interface that
// cuda::Context and hip::Context both offer (alloc, fill32, copyToHost,
// launch, synchronize, timeMs; Ctx::Buffer and Ctx::Launch name their
// buffer and launch-configuration types).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/DType.h"
#include "ktune/tuner/GpuMeasurement.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace kt::gpubench {

/// Random values in [-1, 1) as bf16 / fp16 bits.
std::vector<uint16_t> randomHalves(size_t n, DType t, uint64_t seed);

/// How many rotating sets of `setBytes` the options ask for (at least 2;
/// enough to cover twice `cacheBytes`, every cache level a cold run must
/// miss, by default); FailedPrecondition naming `what` where they do not
/// fit in half of `memoryBytes`.
Result<int64_t> rotatingSets(int64_t setBytes, int64_t cacheBytes,
                             int64_t memoryBytes,
                             const GpuBenchOptions &options,
                             const std::string &what);

/// A "launch-failed" result for a host-side rejection (scratch that could
/// not be allocated, a launch the problem does not suit): the context is
/// fine.
GpuMeasurement rejected(const Status &why);

/// Fills the verdict words of a numerics check into `m`: words[0] the
/// count of outputs out of tolerance, words[1] the worst error (f32 bits)
/// in tolerance units.
void readVerdict(const uint32_t words[4], int64_t outputs, GpuMeasurement &m);

/// The split-K / split-KV scratch a bench shares among its rotating sets
/// (launches run one after another on the stream; each leaves the
/// semaphores zeroed for the next), grown on demand.
template <typename Ctx> struct SplitScratch {
  typename Ctx::Buffer workspace, semaphores;
  /// At least `bytes` of workspace and `count` zeroed semaphores.
  Status prepare(const Ctx &ctx, uint64_t bytes, uint64_t count) {
    if (bytes > workspace.bytes()) {
      KT_ASSIGN_OR_RETURN(workspace, ctx.alloc(size_t(bytes)));
    }
    if (count * 4 > semaphores.bytes()) {
      KT_ASSIGN_OR_RETURN(semaphores, ctx.alloc(size_t(count * 4)));
    }
    return count > 0 ? ctx.fill32(semaphores, 0, size_t(count)) : Status::ok();
  }
};

/// The output under test: `rows` x `cols` elements of `dtype` (bf16, f16
/// or f32) at `buffer`
/// (row pitch `ld`), compared with `ref` (f32, packed; `mag` 0 or the
/// per-element magnitudes) within `absTol` beyond the relative bound.
template <typename Ctx> struct CheckedOutput {
  const typename Ctx::Buffer *buffer = nullptr;
  int ld = 0;
  uint64_t ref = 0, mag = 0;
  int64_t rows = 0, cols = 0;
  DType dtype = DType::BF16;
  float absTol = 0;
};

/// Runs the reference module's kt_check kernel (`check`): compares the
/// output with the reference on the device, tolerance 2^-7 |ref| (2^-16
/// |ref| for an f32 output) + 1e-4 mag + absTol. Sets m.maxError, and m.status
/// / m.message on a mismatch; a non-ok Status is a failed launch or copy.
template <typename Ctx>
Status checkOutput(const Ctx &ctx, void *check,
                   const typename Ctx::Buffer &verdict,
                   const CheckedOutput<Ctx> &o, GpuMeasurement &m) {
  KT_RETURN_IF_ERROR(ctx.fill32(verdict, 0, 4));
  uint64_t c = o.buffer->ptr(), r = o.ref, g = o.mag, v = verdict.ptr();
  // kt_check's output format: 0 fp16, 1 bf16, 2 f32.
  int ld = o.ld, M = int(o.rows), N = int(o.cols),
      format = o.dtype == DType::F32    ? 2
               : o.dtype == DType::BF16 ? 1
                                        : 0;
  float alpha = 1.0f, absTol = o.absTol;
  typename Ctx::Launch cfg;
  cfg.grid[0] =
      unsigned(std::min<int64_t>((o.rows * o.cols + 255) / 256, 4096));
  cfg.block[0] = 256;
  KT_RETURN_IF_ERROR(ctx.launch(
      check, cfg, {&c, &ld, &r, &g, &M, &N, &alpha, &format, &absTol, &v}));
  uint32_t words[4] = {};
  KT_RETURN_IF_ERROR(ctx.copyToHost(words, verdict, sizeof(words)));
  readVerdict(words, o.rows * o.cols, m);
  return Status::ok();
}

/// Warm-up, then batches of one launch per set (each set cold in the
/// caches when its turn comes) until the options' time cap; fills m's
/// median, count and dispersion. `abandonAboveMs` > 0 stops after a first
/// batch slower than it.
template <typename Ctx>
Status timeRotating(const Ctx &ctx, const std::function<Status(size_t)> &launch,
                    size_t sets, const GpuBenchOptions &options,
                    double abandonAboveMs, GpuMeasurement &m) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < options.warmup; ++i) {
    KT_RETURN_IF_ERROR(launch(size_t(i) % sets));
  }
  std::vector<double> batches;
  const auto start = Clock::now();
  for (int b = 0; b < options.maxBatches; ++b) {
    KT_ASSIGN_OR_RETURN(float ms, ctx.timeMs([&]() -> Status {
      for (size_t set = 0; set < sets; ++set) {
        KT_RETURN_IF_ERROR(launch(set));
      }
      return Status::ok();
    }));
    batches.push_back(double(ms) / double(sets));
    if (b == 0 && abandonAboveMs > 0 && batches[0] > abandonAboveMs) {
      m.abandoned = true;
      m.message = "timed once: its first batch was over 3x the best so far";
      break;
    }
    const double elapsed =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (b + 1 >= options.minBatches && elapsed > options.maxMs) {
      break;
    }
  }
  std::vector<double> sorted = batches;
  std::sort(sorted.begin(), sorted.end());
  m.medianMs = sorted[sorted.size() / 2];
  m.iterations = int64_t(batches.size() * sets);
  if (sorted.size() >= 4) {
    m.dispersion = (sorted[sorted.size() * 3 / 4] - sorted[sorted.size() / 4]) /
                   std::max(m.medianMs, 1e-9);
  }
  return Status::ok();
}

/// What every candidate goes through: its output poisoned with NaN, one
/// run on set 0, the on-device check, then timeRotating(). A failure after
/// a launch sets `contextLost` (the device may hold a sticky fault).
template <typename Ctx>
GpuMeasurement checkThenTime(const Ctx &ctx, void *check,
                             const typename Ctx::Buffer &verdict,
                             const CheckedOutput<Ctx> &output,
                             const std::function<Status(size_t)> &launch,
                             size_t sets, const GpuBenchOptions &options,
                             double abandonAboveMs, bool &contextLost) {
  GpuMeasurement out;
  auto fail = [&](const Status &s) {
    out.status = "launch-failed";
    out.message = s.message();
    contextLost = true;
    return out;
  };
  // f32 0x7FC00000 in every word; bf16 0x7FC0 / fp16 0x7E00 in both halves.
  const uint32_t nan = output.dtype == DType::F32    ? 0x7FC00000u
                       : output.dtype == DType::BF16 ? 0x7FC07FC0u
                                                     : 0x7E007E00u;
  Status run = ctx.fill32(*output.buffer, nan, output.buffer->bytes() / 4);
  if (run.isOk()) {
    run = launch(0);
  }
  if (run.isOk()) {
    run = ctx.synchronize();
  }
  if (run.isOk()) {
    run = checkOutput(ctx, check, verdict, output, out);
  }
  if (!run.isOk()) {
    return fail(run);
  }
  if (out.status != "ok") {
    return out;
  }
  if (Status s = timeRotating(ctx, launch, sets, options, abandonAboveMs, out);
      !s.isOk()) {
    return fail(s);
  }
  return out;
}

} // namespace kt::gpubench
