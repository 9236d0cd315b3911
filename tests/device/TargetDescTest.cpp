// Tests for TargetDesc string round trips and parse errors.
#include "ktune/device/TargetDesc.h"
#include "ktune/device/HostInfo.h"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("targets round-trip through strings", "[target]") {
  for (const char *text : {"cpu", "cuda:sm_90a", "cuda:sm_80", "cuda:sm_100a",
                           "hip:gfx950", "hip:gfx90a", "hip:gfx1100"}) {
    INFO(text);
    kt::Result<kt::TargetDesc> t = kt::parseTarget(text);
    REQUIRE(t.isOk());
    CHECK(t->toString() == text);
    kt::Result<kt::TargetDesc> again = kt::parseTarget(t->toString());
    REQUIRE(again.isOk());
    CHECK(*again == *t);
  }
}

TEST_CASE("parsed targets have the right kind and arch", "[target]") {
  kt::Result<kt::TargetDesc> cuda = kt::parseTarget("cuda:sm_90a");
  REQUIRE(cuda.isOk());
  CHECK(cuda->kind == kt::TargetKind::Cuda);
  CHECK(cuda->arch == "sm_90a");
  CHECK(cuda->features.empty());

  kt::Result<kt::TargetDesc> hip = kt::parseTarget("hip:gfx950");
  REQUIRE(hip.isOk());
  CHECK(hip->kind == kt::TargetKind::Hip);
  CHECK(hip->arch == "gfx950");
  CHECK_FALSE(*hip == *cuda);
}

TEST_CASE("cpu parses to the host with its features", "[target]") {
  kt::Result<kt::TargetDesc> cpu = kt::parseTarget("cpu");
  REQUIRE(cpu.isOk());
  CHECK(cpu->kind == kt::TargetKind::Cpu);
  CHECK(cpu->arch.empty());
  CHECK(cpu->features == kt::hostInfo().features);
  CHECK(*cpu == kt::TargetDesc::host());
  for (const std::string &f : kt::hostInfo().features) {
    CHECK(cpu->hasFeature(f));
  }
  CHECK_FALSE(cpu->hasFeature("not-a-feature"));
}

TEST_CASE("unknown target kinds are rejected", "[target]") {
  for (const char *text : {"", "gpu", "CPU", "rocm:gfx950", "tpu:v5"}) {
    INFO(text);
    kt::Result<kt::TargetDesc> t = kt::parseTarget(text);
    REQUIRE_FALSE(t.isOk());
    CHECK(t.status().code() == kt::StatusCode::InvalidArgument);
    CHECK(t.status().message() ==
          "unknown target '" + std::string(text) +
              "'; expected cpu, cuda:sm_XX or hip:gfxNNN");
  }
}

TEST_CASE("gpu targets need a well-formed arch", "[target]") {
  for (const char *text :
       {"cuda", "hip", "cuda:", "hip:", "cuda:90a", "cuda:sm_", "cuda:sm_x",
        "cuda:sm_90A", "hip:950", "hip:gfx", "hip:gfx-950", "cpu:znver4"}) {
    INFO(text);
    kt::Result<kt::TargetDesc> t = kt::parseTarget(text);
    REQUIRE_FALSE(t.isOk());
    CHECK(t.status().code() == kt::StatusCode::InvalidArgument);
    CHECK(t.status().message().find(text) != std::string::npos);
  }
  kt::Result<kt::TargetDesc> bare = kt::parseTarget("cuda");
  REQUIRE_FALSE(bare.isOk());
  CHECK(bare.status().message().find("cuda:sm_90a") != std::string::npos);
}
