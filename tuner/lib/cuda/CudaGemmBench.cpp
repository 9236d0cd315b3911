#include "ktune/tuner/CudaGemmBench.h"

#include "ReferenceKernels.h"
#include "ktune/compiler/NvrtcCompiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

namespace kt {

/// One rotating set: A, B and C of the problem at their own addresses.
struct CudaGemmBench::Set {
  cuda::DeviceBuffer a, b, c;
};

namespace {

using Clock = std::chrono::steady_clock;

int64_t storedBytes(int64_t rows, int64_t ld) { return rows * ld * 2; }

/// Random values in [-1, 1) as bf16 / fp16 bits.
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

CudaGemmBench::~CudaGemmBench() = default;

Result<std::unique_ptr<CudaGemmBench>>
CudaGemmBench::create(const cuda::Context &ctx, const cuda::DeviceInfo &device,
                      const GemmProblem &problem,
                      const CudaBenchOptions &options) {
  KT_RETURN_IF_ERROR(problem.validate());
  if (problem.dtype != DType::BF16 && problem.dtype != DType::F16) {
    return invalidArgument(
        fmt::format("{}: the CUDA GEMM benchmark takes bf16 or f16 problems",
                    problem.key()));
  }
  std::unique_ptr<CudaGemmBench> b(new CudaGemmBench());
  b->ctx_ = &ctx;
  b->device_ = device;
  b->problem_ = problem;
  b->opt_ = options;
  const GemmProblem &p = problem;
  const int64_t aBytes = storedBytes(p.transA ? p.k : p.m, p.lda);
  const int64_t bBytes = storedBytes(p.transB ? p.n : p.k, p.ldb);
  const int64_t cBytes = storedBytes(p.m, p.ldc);
  const int64_t setBytes = aBytes + bBytes + cBytes;
  int64_t want = options.rotateBytes > 0
                     ? options.rotateBytes
                     : 2 * std::max<int64_t>(device.l2Bytes, 1 << 20);
  want = std::min(want, options.maxRotateBytes);
  const int64_t sets = std::max<int64_t>(2, (want + setBytes - 1) / setBytes);
  if (sets * setBytes > device.globalMemBytes / 2 && sets > 2) {
    return failedPrecondition(fmt::format(
        "{}: {} rotating sets of {} MiB do not fit in half of the GPU's "
        "{} MiB; lower --rotate-mib",
        p.key(), sets, setBytes >> 20, device.globalMemBytes >> 20));
  }
  auto a0 = randomHalves(size_t(aBytes / 2), p.dtype, options.seed);
  auto b0 = randomHalves(size_t(bBytes / 2), p.dtype, options.seed + 1);
  for (int64_t s = 0; s < sets; ++s) {
    auto set = std::make_unique<Set>();
    KT_ASSIGN_OR_RETURN(set->a, ctx.alloc(size_t(aBytes)));
    KT_ASSIGN_OR_RETURN(set->b, ctx.alloc(size_t(bBytes)));
    KT_ASSIGN_OR_RETURN(set->c, ctx.alloc(size_t(cBytes)));
    if (s == 0) {
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->a, a0.data(), size_t(aBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->b, b0.data(), size_t(bBytes)));
    } else {
      // Same values, other addresses: each set is cold in L2 in turn.
      KT_RETURN_IF_ERROR(
          ctx.copyOnDevice(set->a, b->sets_[0]->a, size_t(aBytes)));
      KT_RETURN_IF_ERROR(
          ctx.copyOnDevice(set->b, b->sets_[0]->b, size_t(bBytes)));
    }
    b->sets_.push_back(std::move(set));
  }
  KT_RETURN_IF_ERROR(b->computeReference());
  return b;
}

Status CudaGemmBench::computeReference() {
  KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
  KT_ASSIGN_OR_RETURN(NvrtcOutput out,
                      nvrtc->compile(cudaref::source(), "kt_reference.cu",
                                     device_.arch(), {"-default-device"}));
  KT_ASSIGN_OR_RETURN(refModule_, ctx_->loadModule(out.cubin));
  KT_ASSIGN_OR_RETURN(refFn_, refModule_.function("kt_ref"));
  KT_ASSIGN_OR_RETURN(checkFn_, refModule_.function("kt_check"));
  const GemmProblem &p = problem_;
  const size_t elems = size_t(p.m * p.n);
  KT_ASSIGN_OR_RETURN(ref_, ctx_->alloc(elems * 4));
  KT_ASSIGN_OR_RETURN(mag_, ctx_->alloc(elems * 4));
  KT_ASSIGN_OR_RETURN(verdict_, ctx_->alloc(16));
  uint64_t a = sets_[0]->a.ptr(), b = sets_[0]->b.ptr(), r = ref_.ptr(),
           m = mag_.ptr();
  int M = int(p.m), N = int(p.n), K = int(p.k), lda = int(p.lda),
      ldb = int(p.ldb), ta = p.transA, tb = p.transB,
      bf16 = p.dtype == DType::BF16;
  cuda::LaunchConfig cfg;
  cfg.grid[0] = unsigned((p.n + 15) / 16);
  cfg.grid[1] = unsigned((p.m + 15) / 16);
  cfg.block[0] = cfg.block[1] = 16;
  KT_ASSIGN_OR_RETURN(float ms, ctx_->timeMs([&] {
    return ctx_->launch(
        refFn_, cfg, {&a, &b, &r, &m, &M, &N, &K, &lda, &ldb, &ta, &tb, &bf16});
  }));
  referenceMs_ = ms;
  return Status::ok();
}

CudaMeasurement CudaGemmBench::measure(void *function,
                                       const cuda::GemmLaunchSpec &spec,
                                       double abandonAboveMs) {
  // Split-K scratch, shared by the sets (launches run one after another on
  // the stream; each leaves the semaphores zeroed for the next).
  const uint64_t wsBytes = cuda::gemmWorkspaceBytes(spec, problem_);
  const uint64_t sems = cuda::gemmSemaphores(spec, problem_);
  auto grow = [&](cuda::DeviceBuffer &buf, uint64_t bytes) -> Status {
    if (bytes > buf.bytes()) {
      KT_ASSIGN_OR_RETURN(buf, ctx_->alloc(size_t(bytes)));
    }
    return Status::ok();
  };
  Status scratch = grow(workspace_, wsBytes);
  if (scratch.isOk()) {
    scratch = grow(semaphores_, sems * 4);
  }
  if (scratch.isOk() && sems > 0) {
    scratch = ctx_->fill32(semaphores_, 0, size_t(sems));
  }
  if (!scratch.isOk()) {
    CudaMeasurement out;
    out.status = "launch-failed";
    out.message = scratch.message();
    return out;
  }
  // One prepared launch per rotating set.
  std::vector<cuda::PreparedGemm> launches;
  for (const auto &set : sets_) {
    cuda::GemmOperands ops{set->a.ptr(), set->b.ptr(), set->c.ptr(), 1.0f,
                           0.0f};
    ops.workspace = wsBytes ? workspace_.ptr() : 0;
    ops.semaphores = sems ? semaphores_.ptr() : 0;
    auto g = cuda::prepareGemm(*ctx_, function, spec, problem_, ops,
                               device_.smCount);
    if (!g) {
      CudaMeasurement out;
      out.status = "launch-failed";
      out.message = g.status().message();
      return out; // Host-side rejection: the context is fine.
    }
    launches.push_back(*g);
  }
  return measureLaunches(
      [&](size_t s) { return cuda::launchPrepared(*ctx_, launches[s]); },
      abandonAboveMs);
}

CudaMeasurement CudaGemmBench::measureCublas(const cuda::CublasLtGemm &gemm,
                                             int index, double abandonAboveMs) {
  if (index < 0 || index >= gemm.algorithms()) {
    CudaMeasurement out;
    out.status = "pruned";
    out.message = fmt::format("cuBLASLt's heuristic offers algorithms 0..{} "
                              "for this problem, not algo={}",
                              gemm.algorithms() - 1, index);
    return out;
  }
  return measureLaunches(
      [&](size_t s) {
        return gemm.run(index, sets_[s]->a.ptr(), sets_[s]->b.ptr(),
                        sets_[s]->c.ptr(), 1.0f, 0.0f);
      },
      abandonAboveMs);
}

CudaMeasurement
CudaGemmBench::measureLaunches(const std::function<Status(size_t)> &launch,
                               double abandonAboveMs) {
  CudaMeasurement out;
  const GemmProblem &p = problem_;
  auto fail = [&](const std::string &status, const Status &s) {
    out.status = status;
    out.message = s.message();
    // Any error after a launch may be a sticky fault of the context.
    contextLost_ = status == "launch-failed";
    return out;
  };
  const size_t nsets = sets_.size();

  // Numerics: poison C with NaN, run once on set 0, compare on the device.
  const size_t cWords = sets_[0]->c.bytes() / 4;
  const uint32_t nan = p.dtype == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
  if (Status s = ctx_->fill32(sets_[0]->c, nan, cWords); !s.isOk()) {
    return fail("launch-failed", s);
  }
  if (Status s = ctx_->fill32(verdict_, 0, 4); !s.isOk()) {
    return fail("launch-failed", s);
  }
  Status run = launch(0);
  if (run.isOk()) {
    run = ctx_->synchronize();
  }
  if (!run.isOk()) {
    return fail("launch-failed", run);
  }
  {
    uint64_t c = sets_[0]->c.ptr(), r = ref_.ptr(), m = mag_.ptr(),
             v = verdict_.ptr();
    int ldc = int(p.ldc), M = int(p.m), N = int(p.n),
        bf16 = p.dtype == DType::BF16;
    float alpha = 1.0f;
    cuda::LaunchConfig cfg;
    cfg.grid[0] = unsigned(std::min<int64_t>((p.m * p.n + 255) / 256, 4096));
    cfg.block[0] = 256;
    Status s = ctx_->launch(checkFn_, cfg,
                            {&c, &ldc, &r, &m, &M, &N, &alpha, &bf16, &v});
    uint32_t verdict[4] = {};
    if (s.isOk()) {
      s = ctx_->copyToHost(verdict, verdict_, sizeof(verdict));
    }
    if (!s.isOk()) {
      return fail("launch-failed", s);
    }
    float worst;
    std::memcpy(&worst, &verdict[1], 4);
    out.maxError = worst;
    if (verdict[0] != 0) {
      out.status = "numerics-mismatch";
      out.message = fmt::format(
          "{} of {} outputs differ from the reference by more than the "
          "bf16/fp16 tolerance (worst: {:.3g}x the tolerance{})",
          verdict[0], p.m * p.n, worst,
          worst >= 1e38f ? "; NaN: elements left unwritten" : "");
      return out;
    }
  }

  // Timing: batches of one launch per set, each set cold in L2 when its
  // turn comes; the median batch mean is the result.
  for (int i = 0; i < opt_.warmup; ++i) {
    if (Status s = launch(size_t(i) % nsets); !s.isOk()) {
      return fail("launch-failed", s);
    }
  }
  std::vector<double> batches;
  const auto start = Clock::now();
  for (int b = 0; b < opt_.maxBatches; ++b) {
    auto ms = ctx_->timeMs([&]() -> Status {
      for (size_t set = 0; set < nsets; ++set) {
        KT_RETURN_IF_ERROR(launch(set));
      }
      return Status::ok();
    });
    if (!ms) {
      return fail("launch-failed", ms.status());
    }
    batches.push_back(double(*ms) / double(nsets));
    if (b == 0 && abandonAboveMs > 0 && batches[0] > abandonAboveMs) {
      out.abandoned = true;
      out.message = "timed once: its first batch was over 3x the best so far";
      break;
    }
    const double elapsed =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (b + 1 >= opt_.minBatches && elapsed > opt_.maxMs) {
      break;
    }
  }
  out.medianMs = median(batches);
  out.iterations = int64_t(batches.size() * nsets);
  if (batches.size() >= 4) {
    std::vector<double> s = batches;
    std::sort(s.begin(), s.end());
    out.dispersion =
        (s[s.size() * 3 / 4] - s[s.size() / 4]) / std::max(out.medianMs, 1e-9);
  }
  return out;
}

} // namespace kt
