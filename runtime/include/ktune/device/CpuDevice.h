// CpuDevice: host memory, shared-object kernels, a thread pool for tiles.
#pragma once

#include "ktune/device/Device.h"
#include "ktune/device/ThreadPool.h"

#include <chrono>
#include <memory>

namespace kt {

/// CPU code objects are ELF shared objects; loadModule() writes the bytes to
/// an anonymous memory file (memfd) and dlopen()s it, so no file is left
/// behind and no compiler is needed.
class CpuDevice : public Device {
public:
  /// `threads` <= 0 means one per logical core.
  explicit CpuDevice(int threads = 0);
  const TargetDesc &target() const override { return target_; }
  const DeviceInfo &info() const override { return info_; }
  Result<std::unique_ptr<Module>>
  loadModule(const std::string &bytes) const override;

  ThreadPool &pool() { return *pool_; }
  int threads() const { return pool_->size(); }

private:
  TargetDesc target_;
  DeviceInfo info_;
  std::unique_ptr<ThreadPool> pool_;
};

/// Wall-clock timer for host work.
class CpuTimer {
public:
  void start() { t0_ = std::chrono::steady_clock::now(); }
  /// Milliseconds since start().
  double elapsedMs() const {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - t0_)
        .count();
  }

private:
  std::chrono::steady_clock::time_point t0_;
};

} // namespace kt
