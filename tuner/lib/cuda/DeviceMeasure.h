// Internal: the CUDA side of the shared measuring steps (gpu/GpuMeasure.h):
// the reference kernels compiled for the device with NVRTC, and the shared
// steps bound to cuda::Context.
#pragma once

#include "../gpu/GpuMeasure.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"

namespace kt::cudabench {

using gpubench::randomHalves;
using gpubench::rejected;
using SplitScratch = gpubench::SplitScratch<cuda::Context>;
using CheckedOutput = gpubench::CheckedOutput<cuda::Context>;

/// The reference kernels (ReferenceKernels.h) compiled for the device.
struct ReferenceModule {
  cuda::LoadedModule module;
  void *check = nullptr; ///< kt_check
  Status load(const cuda::Context &ctx, const cuda::DeviceInfo &device);
};

/// gpubench::rotatingSets for the GPU's L2 and memory.
Result<int64_t> rotatingSets(int64_t setBytes, const cuda::DeviceInfo &device,
                             const GpuBenchOptions &options,
                             const std::string &what);

/// gpubench::checkThenTime with the reference module's check kernel.
inline GpuMeasurement checkThenTime(const cuda::Context &ctx,
                                    const ReferenceModule &refs,
                                    const cuda::DeviceBuffer &verdict,
                                    const CheckedOutput &output,
                                    const std::function<Status(size_t)> &launch,
                                    size_t sets, const GpuBenchOptions &options,
                                    double abandonAboveMs, bool &contextLost) {
  return gpubench::checkThenTime(ctx, refs.check, verdict, output, launch, sets,
                                 options, abandonAboveMs, contextLost);
}

} // namespace kt::cudabench
