#include "ktune/tuner/CudaGemmBench.h"

#include "../gpu/GemmSets.h"
#include "DeviceMeasure.h"

#include <fmt/format.h>

#include <algorithm>

namespace kt {

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
  KT_ASSIGN_OR_RETURN(b->sets_,
                      gpubench::makeGemmSets(ctx, problem, device.l2Bytes,
                                             device.globalMemBytes, options));
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
  KT_ASSIGN_OR_RETURN(
      referenceMs_,
      gpubench::gemmReference(*ctx_, refFn_, *sets_[0], problem_, ref_, mag_));
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
                             p.m,          p.n,        p.cDtype(), 1e-3f};
  return cudabench::checkThenTime(*ctx_, *refs_, verdict_, c, launch,
                                  sets_.size(), opt_, abandonAboveMs,
                                  contextLost_);
}

} // namespace kt
