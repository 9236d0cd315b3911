// NVRTC loaded with dlopen compiles CUDA C++ for sm_90a and sm_100a with no
// GPU: cubins, PTX for the right target, lowered template names, and the
// log of a failed compile.
#include "ktune/compiler/NvrtcCompiler.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

namespace {
const char *kSource = R"(
template <int kTile>
__global__ void scale(float *x, float a, int n) {
  int i = blockIdx.x * kTile + threadIdx.x;
  if (i < n) x[i] *= a;
}
)";
} // namespace

TEST_CASE("NVRTC compiles a template instance for sm_90a and sm_100a") {
  auto nvrtc = NvrtcCompiler::get();
  if (!nvrtc) {
    std::printf("[SKIP] %s\n", nvrtc.status().message().c_str());
    return;
  }
  REQUIRE_THAT((*nvrtc)->version(), Catch::StartsWith("nvrtc-"));
  for (const char *arch : {"sm_90a", "sm_100a"}) {
    INFO(arch);
    auto out = (*nvrtc)->compile(kSource, "scale.cu", arch, {}, {"scale<128>"});
    INFO(out.status().toString());
    REQUIRE(out.isOk());
    REQUIRE(out->cubin.size() > 64);
    REQUIRE(out->cubin.compare(0, 4,
                               "\x7f"
                               "ELF") == 0);
    REQUIRE_THAT(out->ptx, Catch::Contains(std::string(".target ") + arch));
    REQUIRE(out->loweredNames.size() == 1);
    REQUIRE_THAT(out->loweredNames[0], Catch::Contains("scale"));
    REQUIRE_THAT(out->ptx, Catch::Contains(out->loweredNames[0]));
  }
}

TEST_CASE("a CUDA source that does not compile returns NVRTC's log") {
  auto nvrtc = NvrtcCompiler::get();
  if (!nvrtc) {
    std::printf("[SKIP] %s\n", nvrtc.status().message().c_str());
    return;
  }
  auto out = (*nvrtc)->compile("__global__ void k() { undeclared(); }",
                               "broken.cu", "sm_90a");
  REQUIRE_FALSE(out.isOk());
  REQUIRE(out.status().code() == StatusCode::InvalidArgument);
  REQUIRE_THAT(out.status().message(), Catch::Contains("broken.cu"));
  REQUIRE_THAT(out.status().message(), Catch::Contains("undeclared"));
}
