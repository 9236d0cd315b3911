#include "ktune/tuner/HipAttentionBench.h"

#include "../gpu/AttentionSets.h"
#include "ktune/drivers/hip/HipAttentionLaunch.h"

#include <fmt/format.h>

namespace kt {

HipAttentionBench::~HipAttentionBench() = default;

Result<std::unique_ptr<HipAttentionBench>> HipAttentionBench::create(
    const hip::Context &ctx, const AttentionProblem &problem,
    const std::string &referenceCodeObject, const GpuBenchOptions &options) {
  KT_RETURN_IF_ERROR(problem.validate());
  if (problem.dtype != DType::BF16 && problem.dtype != DType::F16) {
    return invalidArgument(
        fmt::format("{}: the HIP attention benchmark takes bf16 or f16 "
                    "problems",
                    problem.key()));
  }
  std::unique_ptr<HipAttentionBench> b(new HipAttentionBench());
  b->ctx_ = &ctx;
  b->problem_ = problem;
  b->opt_ = options;
  b->scratch_ = std::make_unique<gpubench::SplitScratch<hip::Context>>();
  const hip::DeviceInfo &d = ctx.info();
  KT_ASSIGN_OR_RETURN(
      b->sets_, gpubench::makeAttentionSets(ctx, problem,
                                            d.l2Bytes + d.lastLevelCacheBytes,
                                            d.totalMemoryBytes, options));
  KT_ASSIGN_OR_RETURN(b->refs_, ctx.loadModule(referenceCodeObject));
  KT_ASSIGN_OR_RETURN(void *refFn, b->refs_.function("kt_attn_ref"));
  KT_ASSIGN_OR_RETURN(b->check_, b->refs_.function("kt_check"));
  KT_ASSIGN_OR_RETURN(b->ref_, ctx.alloc(size_t(problem.qElements()) * 4));
  KT_ASSIGN_OR_RETURN(b->verdict_, ctx.alloc(16));
  KT_ASSIGN_OR_RETURN(
      b->referenceMs_,
      gpubench::attentionReference(ctx, refFn, *b->sets_[0], problem, b->ref_));
  return b;
}

GpuMeasurement HipAttentionBench::measure(void *function,
                                          const cuda::AttentionLaunchSpec &spec,
                                          double abandonAboveMs) {
  const AttentionProblem &p = problem_;
  const uint64_t wsBytes = cuda::attentionWorkspaceBytes(spec, p);
  const uint64_t sems = cuda::attentionSemaphores(spec, p);
  if (Status st = scratch_->prepare(*ctx_, wsBytes, sems); !st.isOk()) {
    return gpubench::rejected(st);
  }
  auto operands = [&](size_t s) {
    const auto &set = *sets_[s];
    cuda::AttentionOperands ops{set.q.ptr(), set.k.ptr(), set.v.ptr(),
                                set.o.ptr()};
    ops.workspace = wsBytes ? scratch_->workspace.ptr() : 0;
    ops.semaphores = sems ? scratch_->semaphores.ptr() : 0;
    return ops;
  };
  // Host-side rejections surface here, before anything ran.
  if (Status st = cuda::checkAttentionOperands(spec, p, operands(0), false);
      !st.isOk()) {
    return gpubench::rejected(st);
  }
  return gpubench::checkThenTime(
      *ctx_, check_, verdict_, gpubench::attentionOutput(*sets_[0], p, ref_),
      [&](size_t s) {
        return hip::launchAttention(*ctx_, function, spec, p, operands(s));
      },
      sets_.size(), opt_, abandonAboveMs, contextLost_);
}

} // namespace kt
