// The CUDA driver loaded with dlopen: devices where there is a driver and a
// GPU; a clear Unavailable status (reported as skipped) where there is not.
#include "ktune/drivers/cuda/CudaDriver.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

TEST_CASE("the CUDA driver lists GPUs or says why it cannot") {
  auto gpus = cuda::listDevices();
  if (!gpus) {
    // No driver (or no GPU): an Unavailable status naming the reason, no
    // crash, and ktune goes on with the CPU.
    REQUIRE(gpus.status().code() == StatusCode::Unavailable);
    REQUIRE_FALSE(gpus.status().message().empty());
    std::printf("[SKIP] no usable CUDA driver here: %s\n",
                gpus.status().message().c_str());
    return;
  }
  if (gpus->empty()) {
    std::printf("[SKIP] the CUDA driver reports no GPU\n");
    return;
  }
  for (const cuda::DeviceInfo &g : *gpus) {
    INFO(g.name);
    REQUIRE(g.smCount > 0);
    REQUIRE(g.l2Bytes > 0);
    REQUIRE(g.globalMemBytes > 0);
    REQUIRE(g.sharedPerBlockOptin >= 48 * 1024);
    if (g.ccMajor == 9 && g.ccMinor == 0) {
      REQUIRE(g.arch() == "sm_90a");
      REQUIRE(g.sharedPerBlockOptin == 227 * 1024);
    }
  }
}
