// The HIP runtime and hipBLASLt (dlopen). Where ROCm is absent the driver,
// a Context and hipBLASLt are each a clear Unavailable naming the library
// and what to install, every time they are asked, and ktune keeps working;
// where ROCm exists the devices it lists are sane. Runs everywhere: the GPU
// work is in HipContextTest, HipBlasLtTest and HipLaunchTest.
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/drivers/hip/HipContext.h"

#include <catch2/catch.hpp>

using namespace kt;

TEST_CASE("the HIP driver is either usable or says why not") {
  auto d = hip::Driver::get();
  if (!d) {
    REQUIRE(d.status().code() == StatusCode::Unavailable);
    REQUIRE_THAT(d.status().message(), Catch::Contains("libamdhip64"));
    REQUIRE_THAT(d.status().message(), Catch::Contains("ROCm"));
    // Asked again: the same answer, no crash, no retry storm.
    auto again = hip::Driver::get();
    REQUIRE_FALSE(again.isOk());
    REQUIRE(again.status().message() == d.status().message());
    auto list = hip::listDevices();
    REQUIRE_FALSE(list.isOk());
    REQUIRE(list.status().message() == d.status().message());
    return;
  }
  auto devices = (*d)->devices();
  REQUIRE(devices.isOk());
  for (const hip::DeviceInfo &g : *devices) {
    INFO(g.name << " " << g.gcnArchName);
    REQUIRE_FALSE(g.name.empty());
    REQUIRE(g.arch.rfind("gfx", 0) == 0);
    REQUIRE(g.arch == hip::archFromGcnArchName(g.gcnArchName));
    REQUIRE(g.computeUnits > 0);
    REQUIRE(g.l2Bytes > 0);
    REQUIRE(g.clockKHz > 0);
    REQUIRE(g.maxLdsPerWorkgroup >= 32 * 1024);
    REQUIRE((g.wavefrontSize == 32 || g.wavefrontSize == 64));
    REQUIRE(g.totalMemoryBytes > 0);
    if (g.arch == "gfx942" || g.arch == "gfx950") {
      REQUIRE(g.wavefrontSize == 64);
      REQUIRE(g.lastLevelCacheBytes == int64_t(256) << 20);
    }
  }
  auto bad = (*d)->deviceInfo(int(devices->size()));
  REQUIRE_FALSE(bad.isOk());
}

TEST_CASE("a HIP context opens on a GPU or reports the runtime's reason") {
  auto ctx = hip::Context::open(0);
  auto d = hip::Driver::get();
  if (!d) {
    REQUIRE_FALSE(ctx.isOk());
    REQUIRE(ctx.status().code() == StatusCode::Unavailable);
    REQUIRE(ctx.status().message() == d.status().message());
    auto again = hip::Context::open(0);
    REQUIRE(again.status().message() == ctx.status().message());
    return;
  }
  auto count = (*d)->deviceCount();
  REQUIRE(count.isOk());
  if (*count == 0) {
    REQUIRE(ctx.status().code() == StatusCode::Unavailable);
    return;
  }
  INFO(ctx.status().toString());
  REQUIRE(ctx.isOk());
  REQUIRE((*ctx)->ordinal() == 0);
  REQUIRE_FALSE((*ctx)->info().arch.empty());
  auto outOfRange = hip::Context::open(*count);
  REQUIRE(outOfRange.status().code() == StatusCode::InvalidArgument);
}

TEST_CASE("hipBLASLt loads where ROCm has it, else says what to install") {
  auto lib = hip::HipBlasLt::get();
  if (!lib) {
    REQUIRE(lib.status().code() == StatusCode::Unavailable);
    REQUIRE_THAT(lib.status().message(), Catch::Contains("libhipblaslt"));
    REQUIRE_THAT(lib.status().message(), Catch::Contains("ROCm"));
    auto again = hip::HipBlasLt::get();
    REQUIRE(again.status().message() == lib.status().message());
    return;
  }
  REQUIRE((*lib)->version().rfind("hipblaslt-", 0) == 0);
}

TEST_CASE("the arch is gcnArchName without its target features") {
  REQUIRE(hip::archFromGcnArchName("gfx942:sramecc+:xnack-") == "gfx942");
  REQUIRE(hip::archFromGcnArchName("gfx950:sramecc+:xnack-") == "gfx950");
  REQUIRE(hip::archFromGcnArchName("gfx90a:xnack+") == "gfx90a");
  REQUIRE(hip::archFromGcnArchName("gfx1100") == "gfx1100");
}

TEST_CASE("the rotating buffer spans L2 and the Infinity Cache twice") {
  REQUIRE(hip::infinityCacheBytes("gfx942") == int64_t(256) << 20);
  REQUIRE(hip::infinityCacheBytes("gfx950") == int64_t(256) << 20);
  REQUIRE(hip::infinityCacheBytes("gfx90a") == 0);
  hip::DeviceInfo mi300x;
  mi300x.arch = "gfx942";
  mi300x.l2Bytes = int64_t(4) << 20;
  mi300x.lastLevelCacheBytes = hip::infinityCacheBytes(mi300x.arch);
  REQUIRE(hip::defaultRotateBytes(mi300x) == int64_t(520) << 20);
  REQUIRE(hip::Driver::rotateBytesHint(mi300x) ==
          hip::defaultRotateBytes(mi300x));
  hip::DeviceInfo mi250;
  mi250.l2Bytes = int64_t(8) << 20;
  REQUIRE(hip::defaultRotateBytes(mi250) == int64_t(16) << 20);
}
