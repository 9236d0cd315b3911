// The HIP runtime, loaded at run time with dlopen("libamdhip64.so"): ktune
// builds and runs where ROCm is absent and reports that as an unavailable
// device. Device discovery is here; memory, modules, launch and timing are
// in HipContext.h, hipBLASLt in HipBlasLt.h.
#pragma once

#include "ktune/base/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kt::hip {

/// What the tuner and validate() need to know about one AMD GPU.
struct DeviceInfo {
  int ordinal = 0;
  std::string name; ///< hipDeviceGetName, e.g. "AMD Instinct MI300X".
  /// The ISA with its target features, e.g. "gfx942:sramecc+:xnack-".
  std::string gcnArchName;
  /// gcnArchName without the features: "gfx942", what ktune compiles for.
  std::string arch;
  int computeUnits = 0; ///< CUs the runtime exposes (CU mode).
  int64_t l2Bytes = 0;  ///< L2 as the runtime reports it (per XCD on MI300).
  int64_t lastLevelCacheBytes = 0; ///< Infinity Cache (MALL); 0 if none.
  int clockKHz = 0;                ///< Peak engine clock.
  int maxLdsPerWorkgroup = 0;      ///< Bytes of LDS one workgroup may use.
  int wavefrontSize = 0;           ///< 64 on CDNA.
  int64_t totalMemoryBytes = 0;
};

/// The loaded runtime. Thread-safety: get() and the queries are safe from
/// many threads.
class Driver {
public:
  /// Loads libamdhip64 (.so.7, .so.6, .so) and calls hipInit once.
  /// Unavailable, with the loader's or hipInit's reason, where there is no
  /// usable HIP runtime (ROCm 6 or newer).
  static Result<const Driver *> get();
  /// hipRuntimeGetVersion, e.g. 70051831.
  int version() const { return version_; }
  Result<int> deviceCount() const;
  /// InvalidArgument for an ordinal the runtime does not have.
  Result<DeviceInfo> deviceInfo(int ordinal) const;
  /// Every device, or the reason there are none.
  Result<std::vector<DeviceInfo>> devices() const;
  /// hipGetErrorName and hipGetErrorString of a hipError_t, e.g.
  /// "hipErrorOutOfMemory: out of memory".
  std::string errorString(int result) const;
  /// defaultRotateBytes(info).
  static int64_t rotateBytesHint(const DeviceInfo &info);

  struct Api; ///< The symbol table (lib/drivers/hip/HipApi.h).
  const Api &api() const { return *api_; }

private:
  Driver() = default;
  const Api *api_ = nullptr;
  int version_ = 0;
};

/// Every GPU the runtime reports, or the reason there are none.
Result<std::vector<DeviceInfo>> listDevices();

/// "gfx942" from "gfx942:sramecc+:xnack-": the processor without the
/// target-feature suffixes.
std::string archFromGcnArchName(const std::string &gcnArchName);

/// The Infinity Cache (MALL) of `arch` in bytes: 256 MiB on gfx942 (MI300X,
/// MI300A, MI325X) and gfx950 (MI350X, MI355X), else 0. HIP exposes no
/// attribute for it, so this is a table of AMD's published sizes.
int64_t infinityCacheBytes(const std::string &arch);

/// The bytes a rotating set of benchmark buffers must span so that no cache
/// level still holds the previous iteration's data: 2 x (L2 + Infinity
/// Cache).
int64_t defaultRotateBytes(const DeviceInfo &info);

} // namespace kt::hip
