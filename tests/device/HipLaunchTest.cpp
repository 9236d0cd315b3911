// A real code object through hip::Context: a tiny extern "C" kernel compiled
// by HipCompiler for the device's arch (DeviceInfo::arch), loaded, looked up,
// launched, timed and checked, plus the errors of a bad lookup and a bad
// launch. Without an AMD GPU the kernel is still compiled for gfx942 and
// gfx950 (so the source stays valid), then the launch is skipped visibly.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/hip/HipContext.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

using namespace kt;

namespace {

// Clang builtins and attributes only: no ROCm headers are needed to build
// it, and hiprtc accepts the same text.
KernelSource fillKernel() {
  KernelSource src;
  src.language = "hip";
  src.entry = "kt_fill_index";
  src.text = R"(
extern "C" __attribute__((global))
__attribute__((amdgpu_flat_work_group_size(1, 256))) void
kt_fill_index(unsigned *out, unsigned base, unsigned n) {
  const unsigned i = __builtin_amdgcn_workgroup_id_x() * 256u +
                     __builtin_amdgcn_workitem_id_x();
  if (i < n) {
    out[i] = base + i;
  }
}
)";
  return src;
}

Result<HipKernelBinary> compileFor(const std::string &arch) {
  KT_ASSIGN_OR_RETURN(TargetDesc target, parseTarget("hip:" + arch));
  KT_ASSIGN_OR_RETURN(HipCompiler compiler, HipCompiler::create(target, ""));
  return compiler.compile(fillKernel(), "hip-launch-test");
}

} // namespace

TEST_CASE("a compiled kernel launches and writes every element") {
  auto ctx = hip::Context::open(0);
  if (!ctx) {
    for (const char *arch : {"gfx942", "gfx950"}) {
      auto bin = compileFor(arch);
      if (!bin && bin.status().code() == StatusCode::Unavailable) {
        std::printf("[SKIP] no HIP compiler: %s\n",
                    bin.status().message().c_str());
        return;
      }
      INFO(arch << ": " << bin.status().toString());
      REQUIRE(bin.isOk());
      REQUIRE(bin->resources.maxFlatWorkgroupSize == 256);
    }
    std::printf("[SKIP] no AMD GPU to launch on: %s\n",
                ctx.status().message().c_str());
    return;
  }
  const hip::DeviceInfo &gpu = (*ctx)->info();
  auto bin = compileFor(gpu.arch);
  if (!bin && bin.status().code() == StatusCode::Unavailable) {
    std::printf("[SKIP] no HIP compiler for %s: %s\n", gpu.arch.c_str(),
                bin.status().message().c_str());
    return;
  }
  INFO(gpu.gcnArchName << ": " << bin.status().toString());
  REQUIRE(bin.isOk());
  auto mod = (*ctx)->loadModule(bin->codeObject);
  INFO(mod.status().toString());
  REQUIRE(mod.isOk());
  auto fn = mod->function("kt_fill_index");
  INFO(fn.status().toString());
  REQUIRE(fn.isOk());
  auto missing = mod->function("kt_no_such_kernel");
  REQUIRE(missing.status().code() == StatusCode::NotFound);

  const unsigned n = 1000003; // Not a multiple of the workgroup.
  auto out = (*ctx)->alloc(size_t(n) * 4 + 4);
  REQUIRE(out.isOk());
  REQUIRE((*ctx)->fill32(*out, 0xDEADBEEFu, n + 1).isOk());
  uint64_t ptr = out->ptr();
  unsigned base = 17, count = n;
  hip::LaunchConfig cfg;
  cfg.grid[0] = (n + 255) / 256;
  cfg.block[0] = 256;
  auto ms = (*ctx)->timeMs(
      [&] { return (*ctx)->launch(*fn, cfg, {&ptr, &base, &count}); });
  INFO(ms.status().toString());
  REQUIRE(ms.isOk());
  REQUIRE(*ms >= 0.0f);
  Status sync = (*ctx)->synchronize();
  INFO(sync.toString());
  REQUIRE(sync.isOk());
  std::vector<uint32_t> host(n + 1);
  REQUIRE((*ctx)->copyToHost(host.data(), *out, host.size() * 4).isOk());
  for (unsigned i = 0; i < n; ++i) {
    if (host[i] != base + i) {
      FAIL("out[" << i << "] = " << host[i] << ", expected " << base + i);
    }
  }
  REQUIRE(host[n] == 0xDEADBEEFu); // Nothing past the end.

  // More work-items than the kernel allows: refused at launch, naming the
  // call, and the device stays usable.
  hip::LaunchConfig tooBig = cfg;
  tooBig.block[0] = 2048;
  Status bad = (*ctx)->launch(*fn, tooBig, {&ptr, &base, &count});
  REQUIRE_FALSE(bad.isOk());
  REQUIRE_THAT(bad.message(), Catch::Contains("hipModuleLaunchKernel"));
  REQUIRE((*ctx)->launch(*fn, cfg, {&ptr, &base, &count}).isOk());
  REQUIRE((*ctx)->synchronize().isOk());
}
