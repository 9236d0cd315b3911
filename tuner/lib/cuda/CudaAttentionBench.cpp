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
    const AttentionProblem &problem, const CudaBenchOptions &options) {
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

CudaMeasurement
CudaAttentionBench::measure(void *function,
                            const cuda::AttentionLaunchSpec &spec,
                            double abandonAboveMs) {
  CudaMeasurement out;
  const AttentionProblem &p = problem_;
  auto fail = [&](const std::string &status, const Status &s) {
    out.status = status;
    out.message = s.message();
    // Any error after a launch may be a sticky fault of the context.
    contextLost_ = status == "launch-failed";
    return out;
  };
  // Split-KV scratch, shared by the sets (launches run one after another on
  // the stream; each leaves the semaphores zeroed for the next).
  const uint64_t wsBytes = cuda::attentionWorkspaceBytes(spec, p);
  const uint64_t sems = cuda::attentionSemaphores(spec, p);
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
    return fail("launch-failed", scratch);
  }
  std::vector<cuda::PreparedAttention> launches;
  for (const auto &set : sets_) {
    cuda::AttentionOperands ops{set->q.ptr(), set->k.ptr(), set->v.ptr(),
                                set->o.ptr()};
    ops.workspace = wsBytes ? workspace_.ptr() : 0;
    ops.semaphores = sems ? semaphores_.ptr() : 0;
    auto a = cuda::prepareAttention(*ctx_, function, spec, p, ops);
    if (!a) {
      out.status = "launch-failed";
      out.message = a.status().message();
      return out; // Host-side rejection: the context is fine.
    }
    launches.push_back(*a);
  }
  auto launch = [&](size_t s) {
    return cuda::launchPrepared(*ctx_, launches[s]);
  };

  // Numerics: poison O with NaN, run once on set 0, compare on the device.
  // P is rounded to 16 bits before P V (2^-8 of |V| <= 1) and O on store.
  const uint32_t nan = p.dtype == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
  Status run = ctx_->fill32(sets_[0]->o, nan, sets_[0]->o.bytes() / 4);
  if (run.isOk()) {
    run = launch(0);
  }
  if (run.isOk()) {
    run = ctx_->synchronize();
  }
  if (run.isOk()) {
    run = cudabench::checkOutput(*ctx_, *refs_, verdict_, sets_[0]->o.ptr(),
                                 int(p.d), ref_.ptr(), 0, p.qElements() / p.d,
                                 p.d, p.dtype, 8e-3f, out);
  }
  if (!run.isOk()) {
    return fail("launch-failed", run);
  }
  if (out.status != "ok") {
    return out;
  }
  if (Status s = cudabench::timeRotating(*ctx_, launch, sets_.size(), opt_,
                                         abandonAboveMs, out);
      !s.isOk()) {
    return fail("launch-failed", s);
  }
  return out;
}

} // namespace kt
