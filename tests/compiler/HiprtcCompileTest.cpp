// hiprtc for real, where a ROCm install provides one (skipped elsewhere):
// the same hip.gemm.mfma instance compiled by hiprtc and by clang-22 gives
// code objects with the chip's MFMA, wave64, no scratch, and LDS within the
// chip's limit.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/compiler/Hiprtc.h"
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

TEST_CASE("hiprtc compiles the MFMA GEMM family like clang does") {
  auto rtc = Hiprtc::get();
  if (!rtc) {
    std::printf("[SKIP] %s\n", rtc.status().message().c_str());
    return;
  }
  HipGemmMfma t;
  int compiled = 0;
  for (const char *arch : {"gfx950", "gfx942"}) {
    if (!(*rtc)->supports(arch).isOk()) {
      continue;
    }
    const TargetDesc target = *parseTarget(std::string("hip:") + arch);
    auto viaRtc = HipCompiler::create(target, "", HipFrontend::Hiprtc);
    auto viaClang = HipCompiler::create(target, "", HipFrontend::Clang);
    REQUIRE(viaRtc.isOk());
    REQUIRE(viaClang.isOk());
    GemmProblem p = test::gemmProblem("NT", 1000, 1000, 4096, DType::BF16);
    auto src = t.instantiate(t.defaultConfig(p, target), p, target);
    REQUIRE(src.isOk());
    auto a = viaRtc->compile(*src, "hiprtc-test");
    INFO(a.status().toString());
    REQUIRE(a.isOk());
    auto b = viaClang->compile(*src, "hiprtc-test");
    REQUIRE(b.isOk());
    CHECK(a->resources.wavefrontSize == 64);
    CHECK(a->resources.scratchBytes == 0);
    CHECK(a->resources.ldsBytes == b->resources.ldsBytes);
    CHECK(a->resources.ldsBytes <= HipGemmMfma::ldsLimit(arch));
    auto dis = viaRtc->disassemble(a->codeObject);
    REQUIRE(dis.isOk());
    CHECK_THAT(*dis, Catch::Contains("v_mfma_f32_16x16x"));
    ++compiled;
  }
  if (compiled == 0) {
    std::printf("[SKIP] hiprtc %d.%d targets neither gfx950 nor gfx942\n",
                (*rtc)->major(), (*rtc)->minor());
  }
}
