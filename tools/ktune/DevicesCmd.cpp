// `ktune devices`: what this machine can tune for.
#include "Commands.h"

#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"

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
    fmt::print("cuda    not built into this ktune yet (planned: sm_90a, "
               "sm_100a)\n");
    fmt::print("hip     not built into this ktune yet (planned: gfx942, "
               "gfx950)\n");
    return 0;
  };
}

} // namespace kt::cli
