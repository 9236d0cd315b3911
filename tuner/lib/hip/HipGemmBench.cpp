#include "ktune/tuner/HipGemmBench.h"

#include "../gpu/GemmSets.h"
#include "HipReferenceKernels.h"

#include <fmt/format.h>

namespace kt {

const char *hipReferenceSource() { return hipref::source(); }

HipGemmBench::~HipGemmBench() = default;

Result<std::unique_ptr<HipGemmBench>>
HipGemmBench::create(const hip::Context &ctx, const GemmProblem &problem,
                     const std::string &referenceCodeObject,
                     const GpuBenchOptions &options) {
  KT_RETURN_IF_ERROR(problem.validate());
  if (problem.dtype != DType::BF16 && problem.dtype != DType::F16) {
    return invalidArgument(
        fmt::format("{}: the HIP GEMM benchmark takes bf16 or f16 problems",
                    problem.key()));
  }
  std::unique_ptr<HipGemmBench> b(new HipGemmBench());
  b->ctx_ = &ctx;
  b->problem_ = problem;
  b->opt_ = options;
  b->scratch_ = std::make_unique<gpubench::SplitScratch<hip::Context>>();
  const hip::DeviceInfo &d = ctx.info();
  KT_ASSIGN_OR_RETURN(b->sets_,
                      gpubench::makeGemmSets(ctx, problem,
                                             d.l2Bytes + d.lastLevelCacheBytes,
                                             d.totalMemoryBytes, options));
  KT_ASSIGN_OR_RETURN(b->refs_, ctx.loadModule(referenceCodeObject));
  KT_ASSIGN_OR_RETURN(void *refFn, b->refs_.function("kt_ref"));
  KT_ASSIGN_OR_RETURN(b->check_, b->refs_.function("kt_check"));
  const size_t elems = size_t(problem.m * problem.n);
  KT_ASSIGN_OR_RETURN(b->ref_, ctx.alloc(elems * 4));
  KT_ASSIGN_OR_RETURN(b->mag_, ctx.alloc(elems * 4));
  KT_ASSIGN_OR_RETURN(b->verdict_, ctx.alloc(16));
  KT_ASSIGN_OR_RETURN(b->referenceMs_,
                      gpubench::gemmReference(ctx, refFn, *b->sets_[0], problem,
                                              b->ref_, b->mag_));
  return b;
}

GpuMeasurement HipGemmBench::measure(void *function,
                                     const hip::GemmLaunchSpec &spec,
                                     double abandonAboveMs) {
  const uint64_t wsBytes = hip::gemmWorkspaceBytes(spec, problem_);
  const uint64_t sems = hip::gemmSemaphores(spec, problem_);
  if (Status st = scratch_->prepare(*ctx_, wsBytes, sems); !st.isOk()) {
    return gpubench::rejected(st);
  }
  // Host-side rejections (a problem the kernel does not suit) surface on
  // the first launch, before anything ran: the device is fine.
  hip::GemmOperands probe{sets_[0]->a.ptr(), sets_[0]->b.ptr(),
                          sets_[0]->c.ptr()};
  probe.workspace = wsBytes ? scratch_->workspace.ptr() : 0;
  probe.semaphores = sems ? scratch_->semaphores.ptr() : 0;
  if (Status st = hip::checkGemmOperands(spec, problem_, probe); !st.isOk()) {
    return gpubench::rejected(st);
  }
  return measureLaunches(
      [&](size_t s) {
        hip::GemmOperands ops = probe;
        ops.a = sets_[s]->a.ptr();
        ops.b = sets_[s]->b.ptr();
        ops.c = sets_[s]->c.ptr();
        return hip::launchGemm(*ctx_, function, spec, problem_, ops);
      },
      abandonAboveMs);
}

GpuMeasurement HipGemmBench::measureHipBlasLt(const hip::HipBlasLtGemm &gemm,
                                              int index,
                                              double abandonAboveMs) {
  if (index < 0 || index >= gemm.algorithms()) {
    GpuMeasurement out;
    out.status = "pruned";
    out.message = fmt::format("hipBLASLt's heuristic offers algorithms 0..{} "
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
HipGemmBench::measureLaunches(const std::function<Status(size_t)> &launch,
                              double abandonAboveMs) {
  const GemmProblem &p = problem_;
  gpubench::CheckedOutput<hip::Context> c{&sets_[0]->c, int(p.ldc), ref_.ptr(),
                                          mag_.ptr(),   p.m,        p.n,
                                          p.cDtype(),   1e-3f};
  return gpubench::checkThenTime(*ctx_, check_, verdict_, c, launch,
                                 sets_.size(), opt_, abandonAboveMs,
                                 contextLost_);
}

} // namespace kt
