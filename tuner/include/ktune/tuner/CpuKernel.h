// A loaded CPU GEMM code object bound to the device's thread pool.
#pragma once

#include "ktune/device/CpuDevice.h"
#include "ktune/device/CpuGemmAbi.h"
#include "ktune/tuner/GemmBench.h"

#include <memory>

namespace kt {

struct LoadedGemm {
  std::unique_ptr<Module> module;
  CpuGemmBlockFn fn = nullptr;
  int64_t gridM = 0, gridN = 0;

  /// Runs every block of the grid on `device`'s pool.
  GemmRunFn runner(CpuDevice &device) const;
};

Result<LoadedGemm> loadGemm(const CpuDevice &device, const std::string &bytes);

} // namespace kt
