#include "ktune/tuner/CudaGemmBench.h"

#include "DeviceMeasure.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {

/// One rotating set: A, B and C of the problem at their own addresses.
struct CudaGemmBench::Set {
  cuda::DeviceBuffer a, b, c;
};

namespace {

int64_t storedBytes(int64_t rows, int64_t ld) { return rows * ld * 2; }

} // namespace

CudaGemmBench::~CudaGemmBench() = default;

Result<std::unique_ptr<CudaGemmBench>>
CudaGemmBench::create(const cuda::Context &ctx, const cuda::DeviceInfo &device,
                      const GemmProblem &problem,
                      const GpuBenchOptions &options) {
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
  KT_ASSIGN_OR_RETURN(
      const int64_t sets,
      cudabench::rotatingSets(setBytes, device, options, p.key()));
  auto a0 = cudabench::randomHalves(size_t(aBytes / 2), p.dtype, options.seed);
  auto b0 =
      cudabench::randomHalves(size_t(bBytes / 2), p.dtype, options.seed + 1);
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
  refs_ = std::make_unique<cudabench::ReferenceModule>();
  scratch_ = std::make_unique<cudabench::SplitScratch>();
  KT_RETURN_IF_ERROR(refs_->load(*ctx_, device_));
  KT_ASSIGN_OR_RETURN(refFn_, refs_->module.function("kt_ref"));
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

GpuMeasurement CudaGemmBench::measure(void *function,
                                      const cuda::GemmLaunchSpec &spec,
                                      double abandonAboveMs) {
  const uint64_t wsBytes = cuda::gemmWorkspaceBytes(spec, problem_);
  const uint64_t sems = cuda::gemmSemaphores(spec, problem_);
  if (Status st = scratch_->prepare(*ctx_, wsBytes, sems); !st.isOk()) {
    return cudabench::rejected(st);
  }
  // One prepared launch per rotating set.
  std::vector<cuda::PreparedGemm> launches;
  for (const auto &set : sets_) {
    cuda::GemmOperands ops{set->a.ptr(), set->b.ptr(), set->c.ptr(), 1.0f,
                           0.0f};
    ops.workspace = wsBytes ? scratch_->workspace.ptr() : 0;
    ops.semaphores = sems ? scratch_->semaphores.ptr() : 0;
    auto g = cuda::prepareGemm(*ctx_, function, spec, problem_, ops,
                               device_.smCount);
    if (!g) {
      return cudabench::rejected(g.status());
    }
    launches.push_back(*g);
  }
  return measureLaunches(
      [&](size_t s) { return cuda::launchPrepared(*ctx_, launches[s]); },
      abandonAboveMs);
}

GpuMeasurement CudaGemmBench::measureCublas(const cuda::CublasLtGemm &gemm,
                                            int index, double abandonAboveMs) {
  if (index < 0 || index >= gemm.algorithms()) {
    GpuMeasurement out;
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

GpuMeasurement
CudaGemmBench::measureLaunches(const std::function<Status(size_t)> &launch,
                               double abandonAboveMs) {
  const GemmProblem &p = problem_;
  cudabench::CheckedOutput c{&sets_[0]->c, int(p.ldc), ref_.ptr(), mag_.ptr(),
                             p.m,          p.n,        p.dtype,    1e-3f};
  return cudabench::checkThenTime(*ctx_, *refs_, verdict_, c, launch,
                                  sets_.size(), opt_, abandonAboveMs,
                                  contextLost_);
}

} // namespace kt
