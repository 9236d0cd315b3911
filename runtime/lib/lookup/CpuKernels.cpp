// DeviceKernels for the CPU: shared objects following CpuGemmAbi.h.
#include "DeviceKernels.h"

#include "ktune/device/HostInfo.h"

#include <fmt/format.h>

namespace kt::lookup {

namespace {

class CpuKernels final : public DeviceKernels {
public:
  explicit CpuKernels(CpuDevice &device) : device_(device) {
    const TargetDesc &target = device.target();
    // Records tuned on this model with a subset of its features run here.
    validators_ = Validators{target.toString(), hostInfo().cpuModel,
                             target.featureString(), "", true};
  }

  const Validators &validators() const override { return validators_; }

  Result<std::shared_ptr<const void>>
  loadModule(const std::string &bytes) const override {
    Result<std::unique_ptr<Module>> loaded = device_.loadModule(bytes);
    if (!loaded.isOk()) {
      return internalError(loaded.status().toString());
    }
    return std::shared_ptr<const void>(
        std::shared_ptr<const Module>(std::move(loaded).value()));
  }

  Status makeKernel(const std::shared_ptr<const void> &module,
                    const TuningRecord &record, kt_kernel &k) const override {
    const auto *mod = static_cast<const Module *>(module.get());
    if (record.op == "attention") {
      KT_ASSIGN_OR_RETURN(k.cpuAttention, CpuAttentionKernel::resolve(*mod));
      return Status::ok();
    }
    Result<void *> block = mod->function(kCpuGemmSymbol);
    Result<void *> gridM = mod->function(kCpuGridMSymbol);
    Result<void *> gridN = mod->function(kCpuGridNSymbol);
    for (const Result<void *> *sym : {&block, &gridM, &gridN}) {
      if (!sym->isOk()) {
        return internalError(
            "the code object does not follow the CPU GEMM ABI: " +
            sym->status().toString());
      }
    }
    k.blockFn = reinterpret_cast<CpuGemmBlockFn>(*block);
    k.gridM = reinterpret_cast<CpuGridFn>(*gridM)();
    k.gridN = reinterpret_cast<CpuGridFn>(*gridN)();
    if (k.gridM <= 0 || k.gridN <= 0) {
      return internalError(
          fmt::format("the code object reports an empty grid of {} x {} blocks",
                      k.gridM, k.gridN));
    }
    return Status::ok();
  }

  /// CPU code objects are compiled for one shape.
  bool shapeGeneric(const TuningRecord &) const override { return false; }

private:
  CpuDevice &device_;
  Validators validators_;
};

} // namespace

std::unique_ptr<DeviceKernels> cpuKernels(CpuDevice &device) {
  return std::make_unique<CpuKernels>(device);
}

} // namespace kt::lookup
