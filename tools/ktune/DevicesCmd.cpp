// `ktune devices`: what this machine can tune for.
#include "Commands.h"

#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/hip/HipDriver.h"

#include <fmt/format.h>

namespace kt::cli {

Runner addDevices(CLI::App &app) {
  app.add_subcommand("devices", "List the devices ktune can tune and run on");
  return [] {
    const HostInfo &h = hostInfo();
    fmt::print("cpu     {} ({} logical cores, features {}, L2 {} KiB, "
               "last-level cache {} MiB)\n",
               h.cpuModel, h.logicalCores, TargetDesc::host().featureString(),
               h.l2Bytes >> 10, h.lastLevelCacheBytes >> 20);
    if (auto gpus = cuda::listDevices(); !gpus) {
      fmt::print("cuda    unavailable: {}\n", gpus.status().message());
    } else if (gpus->empty()) {
      fmt::print("cuda    the driver reports no GPU\n");
    } else {
      for (const cuda::DeviceInfo &g : *gpus) {
        fmt::print("cuda:{}  {} ({}, {} SMs, {} GiB, L2 {} MiB, shared "
                   "memory {} KiB per block; ktune tune --target cuda "
                   "--device {})\n",
                   g.ordinal, g.name, g.arch(), g.smCount,
                   g.globalMemBytes >> 30, g.l2Bytes >> 20,
                   g.sharedPerBlockOptin >> 10, g.ordinal);
      }
    }
    if (auto gpus = hip::listDevices(); !gpus) {
      fmt::print("hip     unavailable: {}\n", gpus.status().message());
    } else if (gpus->empty()) {
      fmt::print("hip     the HIP runtime reports no GPU\n");
    } else {
      for (const hip::DeviceInfo &g : *gpus) {
        fmt::print("hip:{}   {} ({}, {} CUs, {} GiB, L2 {} MiB, Infinity "
                   "Cache {} MiB, LDS {} KiB per workgroup, wave{}; target "
                   "hip:{})\n",
                   g.ordinal, g.name, g.gcnArchName, g.computeUnits,
                   g.totalMemoryBytes >> 30, g.l2Bytes >> 20,
                   g.lastLevelCacheBytes >> 20, g.maxLdsPerWorkgroup >> 10,
                   g.wavefrontSize, g.arch);
      }
    }
    return 0;
  };
}

} // namespace kt::cli
