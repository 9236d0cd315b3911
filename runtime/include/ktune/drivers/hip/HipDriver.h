// The HIP runtime, loaded at run time with dlopen("libamdhip64.so"): ktune
// builds and runs where ROCm is absent and reports that as an unavailable
// device. Only device discovery exists so far; memory, modules and launch
// come with the first AMD machine to test them on.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <vector>

namespace kt::hip {

struct DeviceInfo {
  int ordinal = 0;
  std::string name; ///< hipDeviceGetName, e.g. "AMD Instinct MI300X".
};

class Driver {
public:
  /// Loads libamdhip64 (.so.7, .so.6, .so) and calls hipInit once.
  /// Unavailable, with the loader's or hipInit's reason, where there is no
  /// usable HIP runtime.
  static Result<const Driver *> get();
  /// hipRuntimeGetVersion, e.g. 70051831.
  int version() const { return version_; }
  Result<std::vector<DeviceInfo>> devices() const;

  struct Api;

private:
  Driver() = default;
  const Api *api_ = nullptr;
  int version_ = 0;
};

} // namespace kt::hip
