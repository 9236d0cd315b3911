// Choosing the HIP C++ front end: hiprtc where a ROCm install can target the
// arch, clang-22 otherwise, and a clear reason when the one asked for is
// missing. The fingerprint (part of every cache key) names the path taken.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/compiler/Hiprtc.h"

#include <catch2/catch.hpp>

using namespace kt;

TEST_CASE("the HIP front end names parse, and unknown ones are refused") {
  CHECK(*parseHipFrontend("auto") == HipFrontend::Auto);
  CHECK(*parseHipFrontend("hiprtc") == HipFrontend::Hiprtc);
  CHECK(*parseHipFrontend("clang") == HipFrontend::Clang);
  auto bad = parseHipFrontend("hipcc");
  REQUIRE_FALSE(bad.isOk());
  CHECK_THAT(bad.status().message(), Catch::Contains("hipcc"));
  CHECK_THAT(bad.status().message(), Catch::Contains("auto, hiprtc or clang"));
}

TEST_CASE("auto picks hiprtc where it can target the arch, else clang") {
  auto rtc = Hiprtc::get();
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto c = HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    INFO(c.status().toString());
    REQUIRE(c.isOk());
    const bool hiprtcUsable = rtc && (*rtc)->supports(arch).isOk();
    if (hiprtcUsable) {
      CHECK(c->frontend() == HipFrontend::Hiprtc);
      CHECK(c->fingerprint().rfind("hiprtc-", 0) == 0);
    } else {
      CHECK(c->frontend() == HipFrontend::Clang);
      CHECK(c->fingerprint().rfind("clang-", 0) == 0);
      CHECK_THAT(c->fingerprint(), Catch::Contains("hip-device-only"));
    }
    CHECK_THAT(c->fingerprint(), Catch::Contains(arch));
    // Forcing clang always gives clang (clang-22 is a build dependency).
    auto clang = HipCompiler::create(*parseTarget(std::string("hip:") + arch),
                                     "", HipFrontend::Clang);
    REQUIRE(clang.isOk());
    CHECK(clang->frontend() == HipFrontend::Clang);
    // The two paths never share cache keys.
    if (hiprtcUsable) {
      CHECK(clang->fingerprint() != c->fingerprint());
    }
  }
}

TEST_CASE("forcing hiprtc without it says what to install") {
  auto rtc = Hiprtc::get();
  if (rtc) {
    // Present: the version decides; gfx942 needs ROCm 6, gfx950 ROCm 7.
    CHECK(Hiprtc::minimumMajorFor("gfx950") == 7);
    CHECK(Hiprtc::minimumMajorFor("gfx942") == 6);
    if ((*rtc)->major() < 7) {
      auto c = HipCompiler::create(*parseTarget("hip:gfx950"), "",
                                   HipFrontend::Hiprtc);
      REQUIRE_FALSE(c.isOk());
      CHECK_THAT(c.status().message(), Catch::Contains("ROCm 7"));
    }
    return;
  }
  CHECK(rtc.status().code() == StatusCode::Unavailable);
  CHECK_THAT(rtc.status().message(), Catch::Contains("libhiprtc"));
  CHECK_THAT(rtc.status().message(), Catch::Contains("ROCm"));
  auto c =
      HipCompiler::create(*parseTarget("hip:gfx942"), "", HipFrontend::Hiprtc);
  REQUIRE_FALSE(c.isOk());
  CHECK(c.status().code() == StatusCode::Unavailable);
  CHECK(c.status().message() == rtc.status().message());
}
