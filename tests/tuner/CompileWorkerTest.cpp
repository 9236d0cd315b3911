// Compiling candidates in a worker process: a real compile through the ktune
// executable, a compile killed at its timeout, and a missing worker; GPU
// candidates (MLIR through NVVM and ROCDL, HIP C++ through clang) compiled
// in the worker to the same code objects as in process.
#include "ktune/tuner/CompileWorker.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "ktune/templates/attention/HipAttentionMlir.h"
#include "ktune/templates/gemm/CpuGemmMlir.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"
#include "support/GemmProblems.h"
#include "support/MlirCudaCompiler.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
KernelSource source(const CpuDevice &device, GemmProblem &p) {
  p = test::gemmProblem("NN", 45, 37, 29);
  CpuGemmMlir t;
  auto src =
      t.instantiate(t.defaultConfig(p, device.target()), p, device.target());
  REQUIRE(src.isOk());
  return *src;
}
} // namespace

TEST_CASE("a worker process compiles a kernel that runs correctly") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  GemmProblem p;
  KernelSource src = source(device, p);
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  auto k = compileLimited(compiler, src, "worker-test", limits);
  INFO(k.status().toString());
  REQUIRE(k.isOk());
  auto loaded = loadGemm(device, k->bytes);
  REQUIRE(loaded.isOk());
  auto err = checkGemm(loaded->runner(device), p, 3);
  REQUIRE(err.isOk());
  REQUIRE(*err <= 1.0);
}

TEST_CASE("a compile past its timeout is killed and reported") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  GemmProblem p;
  KernelSource src = source(device, p);
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  limits.timeoutSeconds = 0.001;
  auto k = compileLimited(compiler, src, "timeout-test", limits);
  REQUIRE_FALSE(k.isOk());
  REQUIRE_THAT(k.status().message(), Catch::Contains("did not finish"));
}

TEST_CASE("a compile error and a missing worker are reported") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  KernelSource bad{"mlir", "func.func @kt_gemm( {", "kt_gemm"};
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  auto k = compileLimited(compiler, bad, "bad", limits);
  REQUIRE_FALSE(k.isOk());
  REQUIRE_THAT(k.status().message(), Catch::Contains("not valid MLIR"));
  limits.worker = "/nonexistent/ktune";
  auto m = compileLimited(compiler, bad, "bad", limits);
  REQUIRE_FALSE(m.isOk());
  REQUIRE_THAT(m.status().message(), Catch::Contains("could not run"));
}

namespace {

/// `t`'s default instance for `sig` on `target`.
KernelSource gpuSource(const AttentionTemplate &t, const char *sig,
                       const TargetDesc &target) {
  auto p = parseAttentionProblem(sig);
  REQUIRE(p.isOk());
  auto src = t.instantiate(t.defaultConfig(*p, target), *p, target);
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  return *src;
}

constexpr const char *kDecode = "attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv4096_d128";

} // namespace

TEST_CASE("a worker process compiles GPU candidates to the bytes an "
          "in-process compile gives") {
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  if (auto cuda = test::mlirCompiler("cuda:sm_90a")) {
    const KernelSource src =
        gpuSource(CudaAttentionMlir(), kDecode, cuda->target());
    auto here = cuda->compile(src, "worker-cuda");
    REQUIRE(here.isOk());
    auto there =
        compileGpuLimited(cuda->target(), "", "", src, "worker-cuda", limits);
    INFO(there.status().toString());
    REQUIRE(there.isOk());
    REQUIRE(*there == here->cubin);
  }
  const TargetDesc gfx950 = *parseTarget("hip:gfx950");
  auto hip = HipCompiler::create(gfx950, "", HipFrontend::Auto);
  REQUIRE(hip.isOk());
  // MLIR through ROCDL, and HIP C++ with the front end the tuner chose.
  const HipAttentionMlir mlir;
  const HipAttentionMfma mfma;
  for (const AttentionTemplate *t :
       std::initializer_list<const AttentionTemplate *>{&mlir, &mfma}) {
    INFO(t->name());
    const KernelSource src = gpuSource(*t, kDecode, gfx950);
    auto here = hip->compile(src, "worker-hip");
    INFO(here.status().toString());
    REQUIRE(here.isOk());
    auto there = compileGpuLimited(gfx950, hipFrontendName(hip->frontend()), "",
                                   src, "worker-hip", limits);
    INFO(there.status().toString());
    REQUIRE(there.isOk());
    if (src.language == "mlir") {
      REQUIRE(*there == here->codeObject);
      continue;
    }
    // clang names each compile with a unique id (__hip_cuid_...), so HIP
    // C++ code objects differ in that; the kernel's resources do not.
    auto a = readHipMetadata(here->codeObject, src.entry);
    auto b = readHipMetadata(*there, src.entry);
    REQUIRE(a.isOk());
    REQUIRE(b.isOk());
    REQUIRE(a->vgprs == b->vgprs);
    REQUIRE(a->sgprs == b->sgprs);
    REQUIRE(a->ldsBytes == b->ldsBytes);
    REQUIRE(a->scratchBytes == b->scratchBytes);
    REQUIRE(there->size() == here->codeObject.size());
  }
}

TEST_CASE("a GPU compile past its timeout, a GPU compile error and a CPU "
          "target are reported") {
  const TargetDesc gfx950 = *parseTarget("hip:gfx950");
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  limits.timeoutSeconds = 0.001;
  const KernelSource src = gpuSource(HipAttentionMlir(), kDecode, gfx950);
  auto slow = compileGpuLimited(gfx950, "", "", src, "timeout", limits);
  REQUIRE_FALSE(slow.isOk());
  REQUIRE_THAT(slow.status().message(), Catch::Contains("did not finish"));

  limits.timeoutSeconds = 300;
  const KernelSource bad{"mlir", "gpu.module @kt { {", "kt_attention"};
  auto broken = compileGpuLimited(gfx950, "", "", bad, "bad", limits);
  REQUIRE_FALSE(broken.isOk());
  INFO(broken.status().message());
  REQUIRE_THAT(broken.status().message(), Catch::Contains("MLIR"));

  TargetDesc cpu = TargetDesc::host();
  auto onCpu = compileGpuLimited(cpu, "", "", bad, "bad", limits);
  REQUIRE_FALSE(onCpu.isOk());
  REQUIRE_THAT(onCpu.status().message(), Catch::Contains("GPU targets"));

  limits.worker.clear();
  REQUIRE_THAT(
      compileGpuLimited(gfx950, "", "", src, "none", limits).status().message(),
      Catch::Contains("needs a worker"));
}
