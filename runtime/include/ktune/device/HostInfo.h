// Facts about the host CPU read from the machine (cpuid, sysfs, procfs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kt {

struct HostInfo {
  std::string cpuModel;              ///< /proc/cpuinfo "model name".
  std::vector<std::string> features; ///< Subset ktune cares about.
  int64_t l1dBytes = 0, l2Bytes = 0, lastLevelCacheBytes = 0;
  int logicalCores = 1;
};

/// Detected once, then cached; thread-safe.
const HostInfo &hostInfo();

} // namespace kt
