// Kernel resources read from a cubin's own records agree with what ptxas
// reports for the same compile, for each kernel of a two-kernel cubin, on
// sm_90a and sm_100a; damaged bytes are an error, never a crash.
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/compiler/NvrtcCompiler.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

namespace {

// `busy` needs many registers; `framed` indexes a local array at run time, so
// it has a stack frame.
const char *kSource = R"(
extern "C" __global__ void busy(float *x, int n) {
  float a[24];
  #pragma unroll
  for (int i = 0; i < 24; ++i) a[i] = x[threadIdx.x + i * n];
  float s = 0;
  #pragma unroll
  for (int r = 0; r < 8; ++r) {
    #pragma unroll
    for (int i = 0; i < 24; ++i) s += a[i] * a[(i + r) % 24];
  }
  x[threadIdx.x] = s;
}
extern "C" __global__ void framed(float *x, int k) {
  float a[64];
  for (int i = 0; i < 64; ++i) a[i] = x[i * k + threadIdx.x];
  a[k & 63] += 1;
  float s = 0;
  for (int i = 0; i < 64; ++i) s += a[i] * a[(i * k) & 63];
  x[threadIdx.x] = s;
}
)";

} // namespace

TEST_CASE("a cubin's own records give the registers and frame ptxas reports") {
  auto nvrtc = NvrtcCompiler::get();
  if (!nvrtc) {
    std::printf("[SKIP] %s\n", nvrtc.status().message().c_str());
    return;
  }
  for (const char *arch : {"sm_90a", "sm_100a"}) {
    INFO(arch);
    auto out =
        (*nvrtc)->compile(kSource, "two.cu", arch, CudaCompiler::options());
    REQUIRE(out.isOk());
    int frames = 0;
    for (const char *entry : {"busy", "framed"}) {
      INFO(entry);
      auto report = parsePtxasReport(out->log, entry);
      REQUIRE(report.isOk());
      auto own = readCubinResources(out->cubin, entry);
      INFO(own.status().toString());
      REQUIRE(own.isOk());
      CHECK(own->registers == report->registers);
      CHECK(own->stackBytes == report->stackBytes);
      CHECK(own->registers > 0);
      frames += own->stackBytes > 0;
    }
    CHECK(frames == 1); // `framed` has one; `busy` keeps a[] in registers.
    CHECK(readCubinResources(out->cubin, "busy")->registers !=
          readCubinResources(out->cubin, "framed")->registers);

    auto absent = readCubinResources(out->cubin, "absent");
    REQUIRE_FALSE(absent.isOk());
    CHECK(absent.status().code() == StatusCode::NotFound);
    CHECK_THAT(absent.status().message(), Catch::Contains("absent"));
  }
}

TEST_CASE("damaged cubin bytes are an error, at every truncation") {
  auto nvrtc = NvrtcCompiler::get();
  if (!nvrtc) {
    std::printf("[SKIP] %s\n", nvrtc.status().message().c_str());
    return;
  }
  auto out = (*nvrtc)->compile(kSource, "two.cu", "sm_90a");
  REQUIRE(out.isOk());
  const std::string &cubin = out->cubin;
  REQUIRE(readCubinResources(cubin, "busy").isOk());

  CHECK_FALSE(readCubinResources("", "busy").isOk());
  CHECK_THAT(readCubinResources("not an elf", "busy").status().message(),
             Catch::Contains("not a readable cubin"));
  // A prefix that keeps every record it needs reads the same; any other is
  // an error. None may crash or read past the bytes (the sanitizer build
  // checks).
  const int registers = readCubinResources(cubin, "busy")->registers;
  int failed = 0;
  for (size_t n = 0; n < cubin.size(); n += 7) {
    auto r = readCubinResources(cubin.substr(0, n), "busy");
    failed += !r.isOk();
    if (r.isOk()) {
      CHECK(r->registers == registers);
    }
  }
  CHECK(failed > 0);
  // Scrambled bytes in the middle: an answer or an error, never a crash.
  std::string scrambled = cubin;
  for (size_t i = 64; i < scrambled.size(); i += 13) {
    scrambled[i] = char(scrambled[i] * 31 + 7);
  }
  (void)readCubinResources(scrambled, "busy");
}
