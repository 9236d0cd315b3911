#include "ktune/tuner/CudaAttentionBench.h"

#include "DeviceMeasure.h"

#include <fmt/format.h>

#include <cmath>

namespace kt {

/// One rotating set: Q, K, V and O at their own addresses.
struct CudaAttentionBench::Set {
  cuda::DeviceBuffer q, k, v, o;
};

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
  const AttentionProblem &p = problem;
  const int64_t qBytes = p.qElements() * 2, kvBytes = p.kvElements() * 2;
  KT_ASSIGN_OR_RETURN(const int64_t sets,
                      cudabench::rotatingSets(2 * qBytes + 2 * kvBytes, device,
                                              options, p.key()));
  const auto q0 =
      cudabench::randomHalves(size_t(p.qElements()), p.dtype, options.seed);
  const auto k0 = cudabench::randomHalves(size_t(p.kvElements()), p.dtype,
                                          options.seed + 1);
  const auto v0 = cudabench::randomHalves(size_t(p.kvElements()), p.dtype,
                                          options.seed + 2);
  for (int64_t s = 0; s < sets; ++s) {
    auto set = std::make_unique<Set>();
    KT_ASSIGN_OR_RETURN(set->q, ctx.alloc(size_t(qBytes)));
    KT_ASSIGN_OR_RETURN(set->k, ctx.alloc(size_t(kvBytes)));
    KT_ASSIGN_OR_RETURN(set->v, ctx.alloc(size_t(kvBytes)));
    KT_ASSIGN_OR_RETURN(set->o, ctx.alloc(size_t(qBytes)));
    if (s == 0) {
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->q, q0.data(), size_t(qBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->k, k0.data(), size_t(kvBytes)));
      KT_RETURN_IF_ERROR(ctx.copyToDevice(set->v, v0.data(), size_t(kvBytes)));
    } else {
      // Same values, other addresses: each set is cold in L2 in turn.
      const Set &first = *b->sets_[0];
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->q, first.q, size_t(qBytes)));
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->k, first.k, size_t(kvBytes)));
      KT_RETURN_IF_ERROR(ctx.copyOnDevice(set->v, first.v, size_t(kvBytes)));
    }
    b->sets_.push_back(std::move(set));
  }
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
  uint64_t q = sets_[0]->q.ptr(), k = sets_[0]->k.ptr(), v = sets_[0]->v.ptr(),
           r = ref_.ptr();
  int hq = int(p.hq), hkv = int(p.hkv), sq = int(p.sq), skv = int(p.skv),
      d = int(p.d), bshd = p.layout == AttentionProblem::Layout::BSHD,
      causal = p.causal, bf16 = p.dtype == DType::BF16;
  float scale = float(1.0 / std::sqrt(double(p.d)));
  cuda::LaunchConfig cfg;
  cfg.grid[0] = unsigned(p.batch * p.hq * p.sq);
  cfg.block[0] = 128;
  KT_ASSIGN_OR_RETURN(float ms, ctx_->timeMs([&] {
    return ctx_->launch(fn, cfg,
                        {&q, &k, &v, &r, &hq, &hkv, &sq, &skv, &d, &bshd,
                         &causal, &scale, &bf16});
  }));
  referenceMs_ = ms;
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
    auto a = cuda::prepareAttention(*ctx_, function, spec, p, ops);
    if (!a) {
      return cudabench::rejected(a.status());
    }
    launches.push_back(*a);
  }
  auto launch = [&](size_t s) {
    return cuda::launchPrepared(*ctx_, launches[s]);
  };

  // P is rounded to 16 bits before P V (2^-8 of |V| <= 1) and O on store.
  cudabench::CheckedOutput c{&sets_[0]->o,        int(p.d), ref_.ptr(), 0,
                             p.qElements() / p.d, p.d,      p.dtype,    8e-3f};
  return cudabench::checkThenTime(*ctx_, *refs_, verdict_, c, launch,
                                  sets_.size(), opt_, abandonAboveMs,
                                  contextLost_);
}

} // namespace kt
