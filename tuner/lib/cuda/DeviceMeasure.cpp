#include "DeviceMeasure.h"

#include "ReferenceKernels.h"
#include "ktune/compiler/NvrtcCompiler.h"

namespace kt::cudabench {

Result<int64_t> rotatingSets(int64_t setBytes, const cuda::DeviceInfo &device,
                             const GpuBenchOptions &options,
                             const std::string &what) {
  return gpubench::rotatingSets(setBytes, device.l2Bytes, device.globalMemBytes,
                                options, what);
}

Status ReferenceModule::load(const cuda::Context &ctx,
                             const cuda::DeviceInfo &device) {
  KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
  KT_ASSIGN_OR_RETURN(NvrtcOutput out,
                      nvrtc->compile(cudaref::source(), "kt_reference.cu",
                                     device.arch(), {"-default-device"}));
  KT_ASSIGN_OR_RETURN(module, ctx.loadModule(out.cubin));
  KT_ASSIGN_OR_RETURN(check, module.function("kt_check"));
  return Status::ok();
}

} // namespace kt::cudabench
