#include "DeviceMeasure.h"

#include "ReferenceKernels.h"
#include "ktune/compiler/NvrtcCompiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

namespace kt::cudabench {

std::vector<uint16_t> randomHalves(size_t n, DType t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint16_t> out(n);
  for (uint16_t &h : out) {
    float f = dist(rng);
    if (t == DType::BF16) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      u += 0x7FFFu + ((u >> 16) & 1u);
      h = uint16_t(u >> 16);
    } else {
      _Float16 x = static_cast<_Float16>(f);
      std::memcpy(&h, &x, 2);
    }
  }
  return out;
}

Result<int64_t> rotatingSets(int64_t setBytes, const cuda::DeviceInfo &device,
                             const CudaBenchOptions &options,
                             const std::string &what) {
  int64_t want = options.rotateBytes > 0
                     ? options.rotateBytes
                     : 2 * std::max<int64_t>(device.l2Bytes, 1 << 20);
  want = std::min(want, options.maxRotateBytes);
  const int64_t sets = std::max<int64_t>(2, (want + setBytes - 1) / setBytes);
  if (sets * setBytes > device.globalMemBytes / 2 && sets > 2) {
    return failedPrecondition(fmt::format(
        "{}: {} rotating sets of {} MiB do not fit in half of the GPU's "
        "{} MiB; lower --rotate-mib",
        what, sets, setBytes >> 20, device.globalMemBytes >> 20));
  }
  return sets;
}

Status ReferenceModule::load(const cuda::Context &ctx,
                             const cuda::DeviceInfo &device) {
  KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
  KT_ASSIGN_OR_RETURN(NvrtcOutput out,
                      nvrtc->compile(cudaref::source(), "kt_reference.cu",
                                     device.arch(), {"-default-device"}));
  KT_ASSIGN_OR_RETURN(module, ctx.loadModule(out.cubin));
  KT_ASSIGN_OR_RETURN(check, module.function("kt_check"));
  return Status::ok();
}

Status checkOutput(const cuda::Context &ctx, const ReferenceModule &refs,
                   const cuda::DeviceBuffer &verdict, uint64_t out, int ld,
                   uint64_t ref, uint64_t mag, int64_t rows, int64_t cols,
                   DType dtype, float absTol, CudaMeasurement &m) {
  KT_RETURN_IF_ERROR(ctx.fill32(verdict, 0, 4));
  uint64_t c = out, r = ref, g = mag, v = verdict.ptr();
  int M = int(rows), N = int(cols), bf16 = dtype == DType::BF16;
  float alpha = 1.0f;
  cuda::LaunchConfig cfg;
  cfg.grid[0] = unsigned(std::min<int64_t>((rows * cols + 255) / 256, 4096));
  cfg.block[0] = 256;
  KT_RETURN_IF_ERROR(ctx.launch(
      refs.check, cfg, {&c, &ld, &r, &g, &M, &N, &alpha, &bf16, &absTol, &v}));
  uint32_t words[4] = {};
  KT_RETURN_IF_ERROR(ctx.copyToHost(words, verdict, sizeof(words)));
  float worst;
  std::memcpy(&worst, &words[1], 4);
  m.maxError = worst;
  if (words[0] != 0) {
    m.status = "numerics-mismatch";
    m.message = fmt::format(
        "{} of {} outputs differ from the reference by more than the "
        "bf16/fp16 tolerance (worst: {:.3g}x the tolerance{})",
        words[0], rows * cols, worst,
        worst >= 1e38f ? "; NaN: elements left unwritten" : "");
  }
  return Status::ok();
}

CudaMeasurement rejected(const Status &why) {
  CudaMeasurement out;
  out.status = "launch-failed";
  out.message = why.message();
  return out;
}

Status SplitScratch::prepare(const cuda::Context &ctx, uint64_t bytes,
                             uint64_t count) {
  if (bytes > workspace.bytes()) {
    KT_ASSIGN_OR_RETURN(workspace, ctx.alloc(size_t(bytes)));
  }
  if (count * 4 > semaphores.bytes()) {
    KT_ASSIGN_OR_RETURN(semaphores, ctx.alloc(size_t(count * 4)));
  }
  return count > 0 ? ctx.fill32(semaphores, 0, size_t(count)) : Status::ok();
}

CudaMeasurement checkThenTime(const cuda::Context &ctx,
                              const ReferenceModule &refs,
                              const cuda::DeviceBuffer &verdict,
                              const CheckedOutput &output,
                              const std::function<Status(size_t)> &launch,
                              size_t sets, const CudaBenchOptions &options,
                              double abandonAboveMs, bool &contextLost) {
  CudaMeasurement out;
  auto fail = [&](const Status &s) {
    out.status = "launch-failed";
    out.message = s.message();
    contextLost = true;
    return out;
  };
  // bf16 0x7FC0 / fp16 0x7E00 in both halves of every word.
  const uint32_t nan = output.dtype == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
  Status run = ctx.fill32(*output.buffer, nan, output.buffer->bytes() / 4);
  if (run.isOk()) {
    run = launch(0);
  }
  if (run.isOk()) {
    run = ctx.synchronize();
  }
  if (run.isOk()) {
    run = checkOutput(ctx, refs, verdict, output.buffer->ptr(), output.ld,
                      output.ref, output.mag, output.rows, output.cols,
                      output.dtype, output.absTol, out);
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

Status timeRotating(const cuda::Context &ctx,
                    const std::function<Status(size_t)> &launch, size_t sets,
                    const CudaBenchOptions &options, double abandonAboveMs,
                    CudaMeasurement &m) {
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

} // namespace kt::cudabench
