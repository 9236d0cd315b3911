// Device: where kernels run. The CPU device is the embedded default; GPU
// drivers (CUDA, HIP) implement the same interface.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"

#include <cstdint>
#include <memory>
#include <string>

namespace kt {

struct DeviceInfo {
  std::string name;                ///< CPU model / GPU product name.
  int computeUnits = 0;            ///< Cores (CPU) / SMs / CUs.
  int64_t lastLevelCacheBytes = 0; ///< L3 (CPU), L2 (+MALL) on GPUs.
  int64_t memoryBytes = 0;
};

/// A loaded code object. Symbols stay valid for the module's lifetime.
class Module {
public:
  virtual ~Module() = default;
  /// The address of an exported function, or an error naming it.
  virtual Result<void *> function(const std::string &name) const = 0;
};

/// Thread-safety: info()/target() are const and safe; loadModule() is safe
/// from many threads.
class Device {
public:
  virtual ~Device() = default;
  virtual const TargetDesc &target() const = 0;
  virtual const DeviceInfo &info() const = 0;
  /// Loads a code object produced by ktune's compiler for target().
  virtual Result<std::unique_ptr<Module>>
  loadModule(const std::string &bytes) const = 0;
};

} // namespace kt
