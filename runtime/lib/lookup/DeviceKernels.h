// The device-specific half of a lookup context: loading a stored code
// object into a kt_kernel and launching it, on the CPU (CpuGemmAbi.h), a
// CUDA GPU (cuda::GemmLaunchSpec) or an AMD GPU (hip::GemmLaunchSpec). The
// context owns one of these.
#pragma once

#include "KernelHandle.h"

#include "ktune/base/Status.h"
#include "ktune/cache/TuningRecord.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/hip/HipContext.h"

#include <memory>
#include <string>

namespace kt::lookup {

class DeviceKernels {
public:
  virtual ~DeviceKernels() = default;
  /// What results must have been measured on to be used here.
  virtual const Validators &validators() const = 0;
  /// Loads a code object; the result is shared by the kernels made from it.
  virtual Result<std::shared_ptr<const void>>
  loadModule(const std::string &bytes) const = 0;
  /// Fills `k`'s device fields from `module` and the record's launch
  /// description; `k.problem` is set.
  virtual Status makeKernel(const std::shared_ptr<const void> &module,
                            const TuningRecord &record, kt_kernel &k) const = 0;
  /// True if `k` may run `p` (same kind of problem, sizes taken at launch).
  virtual bool shapeGeneric(const TuningRecord &record) const = 0;
};

/// The CPU: code objects are shared libraries following CpuGemmAbi.h,
/// launched on `device`'s thread pool.
std::unique_ptr<DeviceKernels> cpuKernels(CpuDevice &device);

/// CUDA device `ordinal`: cubins with a cuda::GemmLaunchSpec. Unavailable
/// (with the reason) where there is no driver or no such device.
Result<std::unique_ptr<DeviceKernels>> cudaKernels(int ordinal);

/// The scratch a CUDA kernel needs for its problem: the split-K (GEMM) or
/// split-KV (attention) workspace,
/// then (at cudaSemaphoreOffset, 256-byte aligned) its 32-bit semaphores,
/// which must be zero before the first launch and are left zero. 0 if the
/// kernel does not split.
uint64_t cudaWorkspaceBytes(const kt_kernel &k);
uint64_t cudaSemaphoreOffset(const kt_kernel &k);

/// The CUDA context behind cudaKernels() (null for the CPU).
const cuda::Context *cudaContextOf(const DeviceKernels &kernels);
int cudaSmCountOf(const DeviceKernels &kernels);

/// HIP device `ordinal`: code objects with a hip::GemmLaunchSpec.
/// Unavailable (with the reason) where there is no HIP runtime or no such
/// device.
Result<std::unique_ptr<DeviceKernels>> hipKernels(int ordinal);
/// The split-K scratch of a HIP kernel, laid out as for CUDA: workspace,
/// then (at hipSemaphoreOffset, 256-byte aligned) the semaphores.
uint64_t hipWorkspaceBytes(const kt_kernel &k);
uint64_t hipSemaphoreOffset(const kt_kernel &k);
/// The HIP context behind hipKernels() (null otherwise).
const hip::Context *hipContextOf(const DeviceKernels &kernels);

} // namespace kt::lookup
