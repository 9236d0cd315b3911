// DeviceKernels for AMD GPUs: code objects (HSACO) with the launch
// description their template emitted (hip::GemmLaunchSpec, or for attention
// cuda::AttentionLaunchSpec with the HIP signatures of
// HipAttentionLaunch.h), stored next to them by the tuner.
#include "DeviceKernels.h"

#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipDriver.h"

#include <fmt/format.h>

namespace kt::lookup {

namespace {

/// The entry points the HIP templates emit (HipGemmLaunch.h,
/// HipAttentionLaunch.h).
constexpr const char *kHipGemmEntry = "kt_gemm";
constexpr const char *kHipAttentionEntry = "kt_attention";

class HipKernels final : public DeviceKernels {
public:
  explicit HipKernels(std::unique_ptr<hip::Context> ctx)
      : ctx_(std::move(ctx)) {
    const hip::DeviceInfo &gpu = ctx_->info();
    // As HipTuner records them.
    validators_ = Validators{"hip:" + gpu.arch, gpu.name,
                             fmt::format("cus={}", gpu.computeUnits), ""};
  }

  const Validators &validators() const override { return validators_; }

  Result<std::shared_ptr<const void>>
  loadModule(const std::string &bytes) const override {
    KT_ASSIGN_OR_RETURN(hip::LoadedModule module, ctx_->loadModule(bytes));
    return std::shared_ptr<const void>(
        std::make_shared<const hip::LoadedModule>(std::move(module)));
  }

  Status makeKernel(const std::shared_ptr<const void> &module,
                    const TuningRecord &record, kt_kernel &k) const override {
    if (record.op != "gemm" && record.op != "attention") {
      return unimplemented(fmt::format(
          "this library launches HIP GEMM and attention kernels, not {} "
          "kernels",
          record.op));
    }
    if (record.launch.empty()) {
      return failedPrecondition(
          "the result has no launch description (it was tuned by an older "
          "ktune); re-tune it");
    }
    const auto *mod = static_cast<const hip::LoadedModule *>(module.get());
    if (record.op == "attention") {
      KT_ASSIGN_OR_RETURN(k.attentionSpec,
                          cuda::parseAttentionLaunchSpec(record.launch));
      KT_ASSIGN_OR_RETURN(k.hipFunction, mod->function(kHipAttentionEntry));
      return Status::ok();
    }
    KT_ASSIGN_OR_RETURN(k.hipSpec, hip::parseGemmLaunchSpec(record.launch));
    KT_ASSIGN_OR_RETURN(k.hipFunction, mod->function(kHipGemmEntry));
    return Status::ok();
  }

  /// hip.gemm.mfma kernels take M, N, K and the leading dimensions at
  /// launch; MLIR kernels are compiled for one shape.
  bool shapeGeneric(const TuningRecord &record) const override {
    if (record.op != "gemm") {
      return false;
    }
    Result<hip::GemmLaunchSpec> spec = hip::parseGemmLaunchSpec(record.launch);
    return spec.isOk() && spec->args == hip::GemmLaunchSpec::Args::Dims;
  }

  const hip::Context &context() const { return *ctx_; }

private:
  std::unique_ptr<hip::Context> ctx_;
  Validators validators_;
};

} // namespace

Result<std::unique_ptr<DeviceKernels>> hipKernels(int ordinal) {
  KT_ASSIGN_OR_RETURN(const hip::Driver *driver, hip::Driver::get());
  KT_ASSIGN_OR_RETURN(int count, driver->deviceCount());
  if (ordinal < 0 || ordinal >= count) {
    return unavailable(fmt::format(
        "there is no HIP device {} ({} present); pass another ordinal or "
        "\"cpu\"",
        ordinal, count));
  }
  KT_ASSIGN_OR_RETURN(std::unique_ptr<hip::Context> ctx,
                      hip::Context::open(ordinal));
  return std::unique_ptr<DeviceKernels>(
      std::make_unique<HipKernels>(std::move(ctx)));
}

uint64_t hipWorkspaceBytes(const kt_kernel &k) {
  return hipSemaphoreOffset(k) + 4 * hip::gemmSemaphores(k.hipSpec, k.problem);
}

uint64_t hipSemaphoreOffset(const kt_kernel &k) {
  if (hip::gemmSemaphores(k.hipSpec, k.problem) == 0) {
    return 0;
  }
  return (hip::gemmWorkspaceBytes(k.hipSpec, k.problem) + 255) & ~uint64_t(255);
}

const hip::Context *hipContextOf(const DeviceKernels &kernels) {
  const auto *h = dynamic_cast<const HipKernels *>(&kernels);
  return h ? &h->context() : nullptr;
}

} // namespace kt::lookup
