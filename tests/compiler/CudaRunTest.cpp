// The CUDA path end to end on a real GPU: NVRTC cubin for the device's arch
// -> cuModuleLoadData -> launch -> check, timed with events. Skipped (and
// reported so) where there is no driver or GPU.
#include "ktune/compiler/NvrtcCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

using namespace kt;

TEST_CASE("an NVRTC kernel runs on the GPU and gives the right answer") {
  auto gpus = cuda::listDevices();
  if (!gpus || gpus->empty()) {
    std::printf("[SKIP] no GPU: %s\n", gpus ? "the driver reports none"
                                            : gpus.status().message().c_str());
    return;
  }
  auto nvrtc = NvrtcCompiler::get();
  if (!nvrtc) {
    std::printf("[SKIP] %s\n", nvrtc.status().message().c_str());
    return;
  }
  const cuda::DeviceInfo &g = (*gpus)[0];
  auto out = (*nvrtc)->compile(
      "template <int kTile> __global__ void axpb(float *x, float a, float b, "
      "int n) { int i = blockIdx.x * kTile + threadIdx.x; if (i < n) x[i] = "
      "a * x[i] + b; }",
      "axpb.cu", g.arch(), {}, {"axpb<128>"});
  INFO(out.status().toString());
  REQUIRE(out.isOk());
  auto ctx = cuda::Context::open(0);
  INFO(ctx.status().toString());
  REQUIRE(ctx.isOk());
  auto mod = (*ctx)->loadModule(out->cubin);
  INFO(mod.status().toString());
  REQUIRE(mod.isOk());
  auto fn = mod->function(out->loweredNames[0]);
  REQUIRE(fn.isOk());

  const int n = 1000;
  std::vector<float> host(n);
  for (int i = 0; i < n; ++i) {
    host[i] = float(i);
  }
  auto buf = (*ctx)->alloc(n * sizeof(float));
  REQUIRE(buf.isOk());
  REQUIRE((*ctx)->copyToDevice(*buf, host.data(), n * sizeof(float)).isOk());
  uint64_t ptr = buf->ptr();
  float a = 2.0f, b = 1.0f;
  int count = n;
  cuda::LaunchConfig cfg;
  cfg.grid[0] = (n + 127) / 128;
  cfg.block[0] = 128;
  auto ms = (*ctx)->timeMs(
      [&] { return (*ctx)->launch(*fn, cfg, {&ptr, &a, &b, &count}); });
  INFO(ms.status().toString());
  REQUIRE(ms.isOk());
  REQUIRE(*ms >= 0.0f);
  REQUIRE((*ctx)->copyToHost(host.data(), *buf, n * sizeof(float)).isOk());
  for (int i = 0; i < n; ++i) {
    REQUIRE(host[i] == 2.0f * float(i) + 1.0f);
  }
  auto missing = mod->function("no_such_kernel");
  REQUIRE_FALSE(missing.isOk());
}
