#include "ktune/tuner/CudaAttentionBench.h"

#include "../gpu/AttentionSets.h"
#include "DeviceMeasure.h"

#include <fmt/format.h>

#include <cmath>

namespace kt {

CudaAttentionBench::~CudaAttentionBench() = default;

Result<std::unique_ptr<CudaAttentionBench>> CudaAttentionBench::create(
    const cuda::Context &ctx, const cuda::DeviceInfo &device,
    const AttentionProblem &problem, const GpuBenchOptions &options) {
  KT_RETURN_IF_ERROR(problem.validate());
  if (problem.dtype != DType::BF16 && problem.dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "{}: the CUDA attention benchmark takes bf16 or f16 problems",
        problem.key()));
  }
  std::unique_ptr<CudaAttentionBench> b(new CudaAttentionBench());
  b->ctx_ = &ctx;
  b->device_ = device;
  b->problem_ = problem;
  b->opt_ = options;
  KT_ASSIGN_OR_RETURN(
      b->sets_, gpubench::makeAttentionSets(ctx, problem, device.l2Bytes,
                                            device.globalMemBytes, options));
  KT_RETURN_IF_ERROR(b->computeReference());
  return b;
}

Status CudaAttentionBench::computeReference() {
  refs_ = std::make_unique<cudabench::ReferenceModule>();
  scratch_ = std::make_unique<cudabench::SplitScratch>();
  KT_RETURN_IF_ERROR(refs_->load(*ctx_, device_));
  KT_ASSIGN_OR_RETURN(void *fn, refs_->module.function("kt_attn_ref"));
  const AttentionProblem &p = problem_;
  KT_ASSIGN_OR_RETURN(ref_, ctx_->alloc(size_t(p.qElements()) * 4));
  KT_ASSIGN_OR_RETURN(verdict_, ctx_->alloc(16));
  KT_ASSIGN_OR_RETURN(referenceMs_, gpubench::attentionReference(
                                        *ctx_, fn, *sets_[0], p, ref_));
  return Status::ok();
}

GpuMeasurement
CudaAttentionBench::measure(void *function,
                            const cuda::AttentionLaunchSpec &spec,
                            double abandonAboveMs) {
  const AttentionProblem &p = problem_;
  const uint64_t wsBytes = cuda::attentionWorkspaceBytes(spec, p);
  const uint64_t sems = cuda::attentionSemaphores(spec, p);
  if (Status st = scratch_->prepare(*ctx_, wsBytes, sems); !st.isOk()) {
    return cudabench::rejected(st);
  }
  std::vector<cuda::PreparedAttention> launches;
  for (const auto &set : sets_) {
    cuda::AttentionOperands ops{set->q.ptr(), set->k.ptr(), set->v.ptr(),
                                set->o.ptr()};
    ops.workspace = wsBytes ? scratch_->workspace.ptr() : 0;
    ops.semaphores = sems ? scratch_->semaphores.ptr() : 0;
    auto a =
        cuda::prepareAttention(*ctx_, function, spec, p, ops, device_.smCount);
    if (!a) {
      return cudabench::rejected(a.status());
    }
    launches.push_back(*a);
  }
  auto launch = [&](size_t s) {
    return cuda::launchPrepared(*ctx_, launches[s]);
  };

  return cudabench::checkThenTime(
      *ctx_, *refs_, verdict_, gpubench::attentionOutput(*sets_[0], p, ref_),
      launch, sets_.size(), opt_, abandonAboveMs, contextLost_);
}

} // namespace kt
