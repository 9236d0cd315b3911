// The CUDA driver API, loaded at run time with dlopen("libcuda.so.1")
// through a table of function pointers: ktune builds and runs where CUDA is
// absent, and reports "no CUDA driver" as an unavailable device instead of
// failing to start.
#pragma once

#include "ktune/base/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kt::cuda {

/// What the tuner and validate() need to know about one GPU.
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int ccMajor = 0, ccMinor = 0;
  int smCount = 0;
  int64_t globalMemBytes = 0;
  int64_t l2Bytes = 0;
  int clockKHz = 0, memoryClockKHz = 0, memoryBusBits = 0;
  int sharedPerBlockOptin = 0; ///< Bytes a block may opt in to.
  int sharedPerSm = 0;
  /// "sm_90a" for compute capability 9.0 (the arch-specific target ktune
  /// compiles for on Hopper and Blackwell), else "sm_XY".
  std::string arch() const;
};

/// The loaded driver. Thread-safety: get() and the queries are safe from
/// many threads.
class Driver {
public:
  /// Loads libcuda.so.1 and calls cuInit once per process. Unavailable (with
  /// the loader's or cuInit's reason) where there is no usable driver.
  static Result<const Driver *> get();

  /// Driver API version, e.g. 13000 for CUDA 13.0.
  int version() const { return version_; }
  Result<int> deviceCount() const;
  Result<DeviceInfo> deviceInfo(int ordinal) const;

  /// The driver's name and message for a CUresult, e.g.
  /// "CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected".
  std::string errorString(int result) const;

  struct Api; ///< The symbol table (lib/drivers/cuda/CudaApi.h).
  const Api &api() const { return *api_; }

private:
  Driver() = default;
  const Api *api_ = nullptr;
  int version_ = 0;
};

/// Every GPU the driver reports, or the reason there are none.
Result<std::vector<DeviceInfo>> listDevices();

} // namespace kt::cuda
