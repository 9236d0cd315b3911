// The HIP runtime (dlopen). Where ROCm is absent (every machine here) the
// driver is a clear Unavailable naming the library and what to install,
// every time it is asked, and ktune keeps working; where ROCm exists it
// lists devices.
#include "ktune/drivers/hip/HipDriver.h"

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
    return;
  }
  auto devices = (*d)->devices();
  REQUIRE(devices.isOk());
  for (const hip::DeviceInfo &g : *devices) {
    REQUIRE_FALSE(g.name.empty());
  }
}
