// DeviceKernels for CUDA GPUs: cubins with the launch description their
// template emitted (cuda::GemmLaunchSpec or cuda::AttentionLaunchSpec),
// stored next to them by the tuner.
#include "DeviceKernels.h"

#include "ktune/drivers/cuda/CudaDriver.h"

#include <fmt/format.h>

namespace kt::lookup {

namespace {

/// The entry points the CUDA templates emit (GemmLaunch.h,
/// AttentionLaunch.h).
constexpr const char *kCudaGemmEntry = "kt_gemm";
constexpr const char *kCudaAttentionEntry = "kt_attention";

class CudaKernels final : public DeviceKernels {
public:
  CudaKernels(std::unique_ptr<cuda::Context> ctx, const cuda::DeviceInfo &gpu)
      : ctx_(std::move(ctx)), smCount_(gpu.smCount) {
    // As CudaTuner records them.
    validators_ = Validators{"cuda:" + gpu.arch(), gpu.name,
                             fmt::format("sms={}", gpu.smCount), ""};
  }

  const Validators &validators() const override { return validators_; }

  Result<std::shared_ptr<const void>>
  loadModule(const std::string &bytes) const override {
    KT_ASSIGN_OR_RETURN(cuda::LoadedModule module, ctx_->loadModule(bytes));
    return std::shared_ptr<const void>(
        std::make_shared<const cuda::LoadedModule>(std::move(module)));
  }

  Status makeKernel(const std::shared_ptr<const void> &module,
                    const TuningRecord &record, kt_kernel &k) const override {
    if (record.op != "gemm" && record.op != "attention") {
      return unimplemented(fmt::format(
          "this library launches CUDA GEMM and attention kernels, not {} "
          "kernels",
          record.op));
    }
    if (record.launch.empty()) {
      return failedPrecondition(
          "the result has no launch description (it was tuned by an older "
          "ktune); re-tune it");
    }
    const auto *mod = static_cast<const cuda::LoadedModule *>(module.get());
    if (record.op == "attention") {
      KT_ASSIGN_OR_RETURN(k.attentionSpec,
                          cuda::parseAttentionLaunchSpec(record.launch));
      KT_ASSIGN_OR_RETURN(k.cudaFunction, mod->function(kCudaAttentionEntry));
      return ctx_->setMaxDynamicShared(k.cudaFunction,
                                       k.attentionSpec.sharedBytes);
    }
    KT_ASSIGN_OR_RETURN(k.spec, cuda::parseGemmLaunchSpec(record.launch));
    KT_ASSIGN_OR_RETURN(k.cudaFunction, mod->function(kCudaGemmEntry));
    if (!k.spec.pointers) {
      KT_RETURN_IF_ERROR(
          ctx_->setMaxDynamicShared(k.cudaFunction, k.spec.sharedBytes));
    }
    return Status::ok();
  }

  /// TMA kernels take M, N and K at launch; pointer kernels are compiled
  /// for one shape.
  bool shapeGeneric(const TuningRecord &record) const override {
    if (record.op != "gemm") {
      return false;
    }
    Result<cuda::GemmLaunchSpec> spec =
        cuda::parseGemmLaunchSpec(record.launch);
    return spec.isOk() && !spec->pointers;
  }

  const cuda::Context &context() const { return *ctx_; }
  int smCount() const { return smCount_; }

private:
  std::unique_ptr<cuda::Context> ctx_;
  int smCount_;
  Validators validators_;
};

} // namespace

Result<std::unique_ptr<DeviceKernels>> cudaKernels(int ordinal) {
  KT_ASSIGN_OR_RETURN(std::vector<cuda::DeviceInfo> gpus, cuda::listDevices());
  if (ordinal < 0 || ordinal >= int(gpus.size())) {
    return unavailable(fmt::format(
        "there is no CUDA device {} ({} present); pass another ordinal or "
        "\"cpu\"",
        ordinal, gpus.size()));
  }
  KT_ASSIGN_OR_RETURN(std::unique_ptr<cuda::Context> ctx,
                      cuda::Context::open(ordinal));
  return std::unique_ptr<DeviceKernels>(
      std::make_unique<CudaKernels>(std::move(ctx), gpus[ordinal]));
}

namespace {

uint64_t semaphores(const kt_kernel &k) {
  return k.isAttention ? cuda::attentionSemaphores(k.attentionSpec, k.attention)
                       : cuda::gemmSemaphores(k.spec, k.problem);
}

} // namespace

uint64_t cudaWorkspaceBytes(const kt_kernel &k) {
  return cudaSemaphoreOffset(k) + 4 * semaphores(k);
}

uint64_t cudaSemaphoreOffset(const kt_kernel &k) {
  if (semaphores(k) == 0) {
    return 0;
  }
  const uint64_t scratch =
      k.isAttention
          ? cuda::attentionWorkspaceBytes(k.attentionSpec, k.attention)
          : cuda::gemmWorkspaceBytes(k.spec, k.problem);
  return (scratch + 255) & ~uint64_t(255);
}

const cuda::Context *cudaContextOf(const DeviceKernels &kernels) {
  const auto *c = dynamic_cast<const CudaKernels *>(&kernels);
  return c ? &c->context() : nullptr;
}

int cudaSmCountOf(const DeviceKernels &kernels) {
  const auto *c = dynamic_cast<const CudaKernels *>(&kernels);
  return c ? c->smCount() : 0;
}

} // namespace kt::lookup
